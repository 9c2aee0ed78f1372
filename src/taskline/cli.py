"""The `taskline` command line: a thin layer over `taskline.Taskline`.

Exit codes: 0 success; 1 the operation was refused (illegal move, conflict, not
found, invalid value) with one line on stderr; 2 the command line itself is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from taskline import render
from taskline.errors import InvalidValueError, TasklineError
from taskline.lifecycle import Status
from taskline.models import PRIORITIES
from taskline.service import Taskline


class _Group(TyperGroup):
    """Turns taskline's own errors into one line on stderr and exit code 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TasklineError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Group,
    name="taskline",
    help="Run AI agents on tasks through an enforced, persisted and measured lifecycle.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
agent_app = typer.Typer(help="Add and list agents.", no_args_is_help=True)
task_app = typer.Typer(
    help="Create tasks and move them through their lifecycle.", no_args_is_help=True
)
app.add_typer(agent_app, name="agent")
app.add_typer(task_app, name="task")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Reason = Annotated[str, typer.Option("--reason", "-r", help="Why, kept in the transition log.")]
TaskId = Annotated[str, typer.Argument(metavar="TASK", help="The task's id.", show_default=False)]
StatusArg = Annotated[
    Status,
    typer.Argument(
        metavar="STATUS", case_sensitive=False, help="Target status.", show_default=False
    ),
]


@contextmanager
def _taskline() -> Iterator[Taskline]:
    with Taskline.open() as taskline:
        yield taskline


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


# -- agents -------------------------------------------------------------------


@agent_app.command("add")
def agent_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Unique name.", show_default=False)],
    model: Annotated[
        str, typer.Option(help="Model reference, e.g. openai:gpt-4o-mini or local:smollm2.")
    ],
    role: Annotated[str, typer.Option(help="A short description of the agent's job.")] = "",
    instructions: Annotated[str, typer.Option(help="Personality and way of working.")] = "",
    tools: Annotated[
        str | None, typer.Option(help="Comma-separated tools it may use (default: all).")
    ] = None,
    skills: Annotated[str, typer.Option(help="Comma-separated skills.")] = "",
    budget_usd: Annotated[
        str | None, typer.Option("--budget-usd", help="Default budget per task in USD.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add an agent."""
    with _taskline() as tl:
        agent = tl.add_agent(
            name,
            model=model,
            role=role,
            instructions=instructions,
            skills=_split(skills),
            tools=None if tools is None else _split(tools),
            budget_usd=budget_usd,
        )
    if as_json:
        _print_json(agent.model_dump(mode="json"))
    else:
        typer.echo(agent.name)


@agent_app.command("list")
def agent_list(as_json: JsonFlag = False) -> None:
    """List agents."""
    with _taskline() as tl:
        agents = tl.list_agents()
    if as_json:
        _print_json([agent.model_dump(mode="json") for agent in agents])
    else:
        render.agents_table(agents)


# -- tasks --------------------------------------------------------------------


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
    max_turns: Annotated[int | None, typer.Option(help="Most LLM calls per run.")] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Wall-clock limit per run, in seconds.")
    ] = None,
    deadline: Annotated[
        str | None, typer.Option(help="Due date, ISO 8601 (local time if no zone).")
    ] = None,
    workspace: Annotated[Path | None, typer.Option(help="Directory the agent works in.")] = None,
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
        task = tl.create_task(
            title,
            description=description,
            type=task_type,
            priority=priority,
            criteria=criterion or (),
            checks=check or (),
            expected_artifacts=expect or (),
            depends_on=depends_on or (),
            budget_usd=budget_usd,
            max_turns=max_turns,
            timeout_seconds=timeout,
            deadline=None if deadline is None else _parse_deadline(deadline),
            reviewers=reviewer or (),
            human_review=human_review,
            max_rework=max_rework,
            workspace=None if workspace is None else workspace.resolve(),
        )
        if as_json:
            _print_json(render.task_json(task, tl.transitions(task.id)))
        else:
            typer.echo(task.id)


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
        task = tl.assign(task_id, agent, reason=reason)
    render.moved(task)


@task_app.command("block")
def task_block(task_id: TaskId, reason: Reason = "") -> None:
    """Put a task on hold (BLOCKED)."""
    with _taskline() as tl:
        render.moved(tl.block(task_id, reason=reason))


@task_app.command("unblock")
def task_unblock(task_id: TaskId, reason: Reason = "") -> None:
    """Take a BLOCKED task off hold (back to ASSIGNED)."""
    with _taskline() as tl:
        render.moved(tl.unblock(task_id, reason=reason))


@task_app.command("cancel")
def task_cancel(task_id: TaskId, reason: Reason = "") -> None:
    """Cancel a task for good (CANCELLED)."""
    with _taskline() as tl:
        render.moved(tl.cancel(task_id, reason=reason))


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
        render.moved(tl.move(task_id, status, reason=reason, assignee=assignee))


@task_app.command("show")
def task_show(task_id: TaskId, as_json: JsonFlag = False) -> None:
    """Show a task with its transition log."""
    with _taskline() as tl:
        task = tl.get_task(task_id)
        trail = tl.transitions(task_id)
        events = tl.events(task_id)
    if as_json:
        _print_json(render.task_json(task, trail, events))
    else:
        render.task_detail(task, trail, events)


@task_app.command("list")
def task_list(
    status: Annotated[
        Status | None, typer.Option(case_sensitive=False, help="Only tasks in this status.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List tasks, oldest first."""
    with _taskline() as tl:
        tasks = tl.list_tasks(status)
    if as_json:
        _print_json([task.model_dump(mode="json") for task in tasks])
    else:
        render.tasks_table(tasks)


def _split(csv: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in csv.split(",") if part.strip())


def _parse_deadline(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValueError(
            f"invalid deadline {text!r}: use ISO 8601, e.g. 2026-12-01 or 2026-12-01T17:00+01:00"
        ) from None
    # A deadline typed without a zone means the user's own clock.
    return moment if moment.tzinfo else moment.astimezone()


def main() -> None:
    """Entry point of the `taskline` script."""
    app()
