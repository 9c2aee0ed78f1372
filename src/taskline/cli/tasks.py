"""`taskline task ...`: create tasks and move them through their lifecycle."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic.fields import FieldInfo

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
from taskline.models import PRIORITIES, NewTask, Task
from taskline.service import Taskline
from taskline.views import TaskDetailView, TaskView

Many = list[str] | None
"""A repeatable option; not given means the field's default."""

# How `taskline task create` and `taskline run` take each field of `NewTask`, in the
# order --help lists them: the one list of the options, kept equal to the model's fields
# by tests/test_cli_create.py. Defaults come from the model.
CREATE_OPTIONS: dict[str, Any] = {
    "title": Annotated[
        str, typer.Argument(metavar="TITLE", help="One line saying what is to be done.")
    ],
    "description": Annotated[str, typer.Option("--description", "-d", help="Full context.")],
    "criteria": Annotated[
        Many, typer.Option("--criterion", help="An acceptance criterion (repeatable).")
    ],
    "checks": Annotated[
        Many,
        typer.Option("--check", help="A shell command that must exit 0 at review (repeatable)."),
    ],
    "expected_artifacts": Annotated[
        Many, typer.Option("--expect", help="An expected artifact, e.g. a path (repeatable).")
    ],
    "type": Annotated[str, typer.Option("--type", help="Kind of work.")],
    "priority": Annotated[str, typer.Option(help=f"One of {', '.join(PRIORITIES)}.")],
    "budget_usd": Annotated[
        str | None, typer.Option("--budget-usd", help="Spending limit in USD.")
    ],
    "budget_tokens": Annotated[
        int | None,
        typer.Option(
            "--budget-tokens", help="Token limit (input + output), for any model, priced or not."
        ),
    ],
    "max_turns": Annotated[int | None, typer.Option(help="Most LLM calls per run.")],
    "timeout_seconds": Annotated[
        float | None, typer.Option("--timeout", help="Wall-clock limit per run, in seconds.")
    ],
    "check_timeout_seconds": Annotated[
        float | None,
        typer.Option(
            "--check-timeout",
            help="Wall-clock limit of each check, in seconds (default from config).",
        ),
    ],
    "deadline": Annotated[
        str | None, typer.Option(help="Due date, ISO 8601 (local time if no zone).")
    ],
    "workspace": Annotated[Path | None, typer.Option(help="Directory the agent works in.")],
    "copy": Annotated[
        bool,
        typer.Option(
            "--copy",
            help="Work in a copy of the --workspace DIR; `taskline artifacts ID --apply`"
            " writes the work back.",
        ),
    ],
    "ignore": Annotated[
        Many,
        typer.Option(
            help="A path or gitignore pattern whose changes are no artifacts (repeatable)."
        ),
    ],
    "depends_on": Annotated[
        Many, typer.Option(help="A task that must be COMPLETED first (repeatable).")
    ],
    "reviewers": Annotated[Many, typer.Option("--reviewer", help="A reviewer agent (repeatable).")],
    "human_review": Annotated[
        bool, typer.Option(help="Wait for a person's approval before COMPLETED.")
    ],
    "max_rework": Annotated[int, typer.Option(help="Rejected reviews before FAILED.")],
}


def _create_parameters() -> list[inspect.Parameter]:
    """`CREATE_OPTIONS` as parameters of a command, each defaulting as the model does."""
    fields = {field.alias or name: field for name, field in NewTask.model_fields.items()}
    return [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=annotation,
            default=_default(fields[name]),
        )
        for name, annotation in CREATE_OPTIONS.items()
    ]


def _default(field: FieldInfo) -> Any:
    if field.is_required():
        return inspect.Parameter.empty
    # a repeatable option not given is None: Typer shows no `[default: []]`
    return None if isinstance(field.default, list) else field.default


def create_from_options(tl: Taskline, options: dict[str, Any]) -> Task:
    """Create a task from the `task create` options (shared with `taskline run`): those not
    given are left to the model's and the config's defaults."""
    fields = {name: options[name] for name in CREATE_OPTIONS if options[name] is not None}
    if "depends_on" in fields:
        fields["depends_on"] = [_dependency(tl, text) for text in fields["depends_on"]]
    if "deadline" in fields:
        fields["deadline"] = _parse_deadline(fields["deadline"])
    if "workspace" in fields:
        fields["workspace"] = fields["workspace"].resolve()
    return tl.create_task(fields.pop("title"), **fields)


def task_create(*, as_json: bool = False, **options: Any) -> None:
    """Create a task and print its id."""
    with _taskline() as tl:
        task = create_from_options(tl, options)
        if as_json:
            _print_json(TaskView.of(task, tl.transitions(task.id)).model_dump(mode="json"))
        else:
            typer.echo(task.id)


task_create.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        *_create_parameters(),
        inspect.Parameter(
            "as_json", inspect.Parameter.KEYWORD_ONLY, annotation=JsonFlag, default=False
        ),
    ]
)
task_app.command("create")(task_create)


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
        task = create_from_options(tl, options)
        tl.assign(task.id, agent)
        typer.echo(task.id)  # first, so a script has the id even when the run fails
        finish(execute(tl, task.id, None), tl, err=True)


# `taskline run` takes every `task create` option plus --agent.
run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter(
            "agent",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[str, typer.Option(help="The agent to run it.")],
        ),
        *_create_parameters(),
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
