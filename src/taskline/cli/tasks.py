"""`taskline task ...`: create tasks and move them through their lifecycle."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from taskline import render
from taskline.cli.common import (
    FullIds,
    JsonFlag,
    Reason,
    StatusArg,
    TaskId,
    _parse_deadline,
    _print_json,
    _taskline,
    app,
    task_app,
)
from taskline.cli.work import execute, finish
from taskline.errors import NotFoundError
from taskline.lifecycle import Status
from taskline.models import PRIORITIES, Task
from taskline.service import Taskline
from taskline.views import TaskDetailView, TaskView


@task_app.command("create")
def task_create(
    title: Annotated[
        str, typer.Argument(metavar="TITLE", help="One line saying what is to be done.")
    ],
    description: Annotated[str, typer.Option("--description", "-d", help="Full context.")] = "",
    criterion: Annotated[
        list[str] | None, typer.Option(help="An acceptance criterion (repeatable).")
    ] = None,
    check: Annotated[
        list[str] | None,
        typer.Option(help="A shell command that must exit 0 at review (repeatable)."),
    ] = None,
    expect: Annotated[
        list[str] | None, typer.Option(help="An expected artifact, e.g. a path (repeatable).")
    ] = None,
    task_type: Annotated[str, typer.Option("--type", help="Kind of work.")] = "general",
    priority: Annotated[str, typer.Option(help=f"One of {', '.join(PRIORITIES)}.")] = "normal",
    budget_usd: Annotated[
        str | None, typer.Option("--budget-usd", help="Spending limit in USD.")
    ] = None,
    budget_tokens: Annotated[
        int | None,
        typer.Option(
            "--budget-tokens", help="Token limit (input + output), for any model, priced or not."
        ),
    ] = None,
    max_turns: Annotated[int | None, typer.Option(help="Most LLM calls per run.")] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Wall-clock limit per run, in seconds.")
    ] = None,
    check_timeout: Annotated[
        float | None,
        typer.Option(help="Wall-clock limit of each check, in seconds (default from config)."),
    ] = None,
    deadline: Annotated[
        str | None, typer.Option(help="Due date, ISO 8601 (local time if no zone).")
    ] = None,
    workspace: Annotated[Path | None, typer.Option(help="Directory the agent works in.")] = None,
    copy: Annotated[
        bool,
        typer.Option(
            "--copy",
            help="Work in a copy of the --workspace DIR; `taskline artifacts ID --apply`"
            " writes the work back.",
        ),
    ] = False,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            help="A path or gitignore pattern whose changes are no artifacts (repeatable)."
        ),
    ] = None,
    depends_on: Annotated[
        list[str] | None, typer.Option(help="A task that must be COMPLETED first (repeatable).")
    ] = None,
    reviewer: Annotated[
        list[str] | None, typer.Option(help="A reviewer agent (repeatable).")
    ] = None,
    human_review: Annotated[
        bool, typer.Option(help="Wait for a person's approval before COMPLETED.")
    ] = False,
    max_rework: Annotated[int, typer.Option(help="Rejected reviews before FAILED.")] = 2,
    as_json: JsonFlag = False,
) -> None:
    """Create a task and print its id."""
    with _taskline() as tl:
        task = create_from_options(tl, **locals_of_create(locals()))
        if as_json:
            _print_json(TaskView.of(task, tl.transitions(task.id)).model_dump(mode="json"))
        else:
            typer.echo(task.id)


CREATE_OPTIONS = (
    "title", "description", "criterion", "check", "expect", "task_type", "priority",
    "budget_usd", "budget_tokens", "max_turns", "timeout", "check_timeout", "deadline",
    "workspace", "copy", "ignore", "depends_on", "reviewer", "human_review", "max_rework",
)  # fmt: skip


def locals_of_create(values: dict[str, Any]) -> dict[str, Any]:
    """The `task create` options among `values`."""
    return {name: values[name] for name in CREATE_OPTIONS}


def create_from_options(
    tl: Taskline,
    *,
    title: str,
    description: str,
    criterion: list[str] | None,
    check: list[str] | None,
    expect: list[str] | None,
    task_type: str,
    priority: str,
    budget_usd: str | None,
    budget_tokens: int | None,
    max_turns: int | None,
    timeout: float | None,
    check_timeout: float | None,
    deadline: str | None,
    workspace: Path | None,
    copy: bool,
    ignore: list[str] | None,
    depends_on: list[str] | None,
    reviewer: list[str] | None,
    human_review: bool,
    max_rework: int,
) -> Task:
    """Create a task from the `task create` options (shared with `taskline run`)."""
    return tl.create_task(
        title,
        description=description,
        type=task_type,
        priority=priority,
        criteria=criterion or (),
        checks=check or (),
        expected_artifacts=expect or (),
        depends_on=[_dependency(tl, text) for text in depends_on or ()],
        budget_usd=budget_usd,
        budget_tokens=budget_tokens,
        max_turns=max_turns,
        timeout_seconds=timeout,
        check_timeout_seconds=check_timeout,
        ignore=ignore or (),
        deadline=None if deadline is None else _parse_deadline(deadline),
        reviewers=reviewer or (),
        human_review=human_review,
        max_rework=max_rework,
        workspace=None if workspace is None else workspace.resolve(),
        copy=copy,
    )


def _dependency(tl: Taskline, text: str) -> str:
    """The task `text` names (an id or a unique prefix); as typed when no task has it,
    for `create_task` to refuse as an unknown dependency."""
    try:
        return tl.resolve_task_id(text)
    except NotFoundError:
        return text


@task_app.command("run")
def task_run(
    task_id: TaskId,
    timeout: Annotated[
        float | None, typer.Option(help="Wall-clock limit of the run in seconds.")
    ] = None,
    detach: Annotated[
        bool, typer.Option(help="Queue the run for `taskline worker` and return at once.")
    ] = False,
) -> None:
    """Execute an ASSIGNED (or FAILED) task until COMPLETED, FAILED or waiting for review.

    An interrupted run of an IN_PROGRESS task is resumed from its last finished step.
    """
    with _taskline() as tl:
        task_id = tl.resolve_task_id(task_id)
        if detach:
            workflow_id = tl.enqueue_run(task_id, timeout_seconds=timeout)
            typer.echo(f"{task_id} queued as {workflow_id}")
            return
        finish(execute(tl, task_id, timeout), tl)


def run(agent: str, **options: Any) -> None:
    """Create a task, assign it to AGENT and run it; print the new task's id."""
    with _taskline() as tl:
        tl.get_agent(agent)  # a mistyped --agent must not leave a task behind
        task = create_from_options(tl, **options)
        tl.assign(task.id, agent)
        typer.echo(task.id)  # first, so a script has the id even when the run fails
        finish(execute(tl, task.id, None), tl, err=True)


# `taskline run` takes every `task create` option plus --agent: one definition of the
# options serves both commands.
_create_parameters = inspect.signature(task_create, eval_str=True).parameters
run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter(
            "agent",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[str, typer.Option(help="The agent to run it.")],
        ),
        *(
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for name, p in _create_parameters.items()
            if name in CREATE_OPTIONS
        ),
    ]
)
app.command("run")(run)


@task_app.command("assign")
def task_assign(
    task_id: TaskId,
    agent: Annotated[
        str, typer.Argument(metavar="AGENT", help="The agent's name.", show_default=False)
    ],
    reason: Reason = "",
) -> None:
    """Assign a task to an agent (or hand an ASSIGNED task to another agent)."""
    with _taskline() as tl:
        task = tl.assign(tl.resolve_task_id(task_id), agent, reason=reason)
    render.moved(task)


@task_app.command("block")
def task_block(task_id: TaskId, reason: Reason = "") -> None:
    """Put a task on hold (BLOCKED)."""
    with _taskline() as tl:
        render.moved(tl.block(tl.resolve_task_id(task_id), reason=reason))


@task_app.command("unblock")
def task_unblock(task_id: TaskId, reason: Reason = "") -> None:
    """Take a BLOCKED task off hold (back to ASSIGNED)."""
    with _taskline() as tl:
        render.moved(tl.unblock(tl.resolve_task_id(task_id), reason=reason))


@task_app.command("cancel")
def task_cancel(task_id: TaskId, reason: Reason = "") -> None:
    """Cancel a task for good (CANCELLED)."""
    with _taskline() as tl:
        render.moved(tl.cancel(tl.resolve_task_id(task_id), reason=reason))


@task_app.command("move")
def task_move(
    task_id: TaskId,
    status: StatusArg,
    reason: Reason = "",
    assignee: Annotated[
        str | None, typer.Option(help="With ASSIGNED: the agent (default: the current one).")
    ] = None,
) -> None:
    """Move a task to STATUS, as the lifecycle table allows (the operator's raw move)."""
    with _taskline() as tl:
        render.moved(tl.move(tl.resolve_task_id(task_id), status, reason=reason, assignee=assignee))


@task_app.command("show")
def task_show(task_id: TaskId, as_json: JsonFlag = False) -> None:
    """Show a task with its transition log."""
    with _taskline() as tl:
        task_id = tl.resolve_task_id(task_id)
        task = tl.get_task(task_id)
        trail = tl.transitions(task_id)
        events = tl.events(task_id)
        detail = tl.detail(task_id)
    if as_json:
        _print_json(TaskDetailView.of_detail(task, trail, events, detail).model_dump(mode="json"))
    else:
        render.task_detail(task, trail, events, detail)


@task_app.command("list")
def task_list(
    status: Annotated[
        Status | None, typer.Option(case_sensitive=False, help="Only tasks in this status.")
    ] = None,
    as_json: JsonFlag = False,
    full_ids: FullIds = False,
) -> None:
    """List tasks, oldest first."""
    with _taskline() as tl:
        tasks = tl.list_tasks(status)
    if as_json:
        _print_json([task.model_dump(mode="json") for task in tasks])
    else:
        render.tasks_table(tasks, full_ids=full_ids)
