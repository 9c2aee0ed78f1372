"""How the CLI shows records: Rich tables for people, plain dicts for `--json`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from taskline.lifecycle import Status
from taskline.models import Agent, Task, TaskEvent, Transition

STATUS_STYLE = {
    Status.CREATED: "white",
    Status.ASSIGNED: "cyan",
    Status.IN_PROGRESS: "blue",
    Status.IN_REVIEW: "magenta",
    Status.COMPLETED: "green",
    Status.BLOCKED: "yellow",
    Status.CANCELLED: "dim",
    Status.FAILED: "red",
}


def _console() -> Console:
    # Created per call so output follows whatever sys.stdout is at the time.
    return Console(highlight=False, soft_wrap=True)


def _status(status: Status | None) -> str:
    if status is None:
        return "-"
    return f"[{STATUS_STYLE[status]}]{status.value}[/]"


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


def task_json(
    task: Task, trail: Sequence[Transition], events: Sequence[TaskEvent] = ()
) -> dict[str, Any]:
    """A task with its transition log (and audited events) as JSON-ready data."""
    data = task.model_dump(mode="json")
    data["transitions"] = [
        t.model_dump(mode="json", include={"from_status", "to_status", "at", "actor", "reason"})
        for t in trail
    ]
    data["events"] = [e.model_dump(mode="json", exclude={"task_id"}) for e in events]
    return data


def moved(task: Task) -> None:
    """One line after a move: the task, its new status and its assignee."""
    assignee = f" ({task.assignee})" if task.assignee else ""
    _console().print(f"{task.id} {_status(task.status)}{assignee}")


def agents_table(agents: Sequence[Agent]) -> None:
    """Agents as a table."""
    table = Table("name", "model", "role", "tools", "budget/task")
    for agent in agents:
        table.add_row(
            agent.name,
            agent.model,
            agent.role or "-",
            "all" if agent.tools is None else ", ".join(agent.tools) or "none",
            "-" if agent.budget_usd is None else f"${agent.budget_usd}",
        )
    _console().print(table if agents else "no agents yet: add one with `taskline agent add`")


def tasks_table(tasks: Sequence[Task]) -> None:
    """Tasks as a table."""
    table = Table("status", "priority", "assignee", "title")
    # Ids are copied into other commands: never cut or wrap them.
    table.add_column("id", no_wrap=True, min_width=26)
    table.columns.insert(0, table.columns.pop())
    for task in tasks:
        table.add_row(
            task.id, _status(task.status), task.priority, task.assignee or "-", task.title
        )
    _console().print(table if tasks else "no tasks")


def task_detail(task: Task, trail: Sequence[Transition], events: Sequence[TaskEvent]) -> None:
    """A task's fields, then its transition log."""
    console = _console()
    console.print(f"[bold]{task.title}[/]  {_status(task.status)}")
    fields = {
        "id": task.id,
        "assignee": task.assignee or "-",
        "type / priority": f"{task.type} / {task.priority}",
        "budget": "-" if task.budget_usd is None else f"${task.budget_usd}",
        "limits": f"{task.max_turns} turns, {task.timeout_seconds:g} s",
        "deadline": _when(task.deadline),
        "depends on": ", ".join(task.dependencies) or "-",
        "workspace": task.workspace or "(default)",
    }
    for name, value in fields.items():
        console.print(f"  [dim]{name:>16}[/]  {value}")
    if task.description:
        console.print(f"\n{task.description}")
    for heading, items in (
        ("Acceptance criteria", task.acceptance_criteria),
        ("Checks", task.checks),
        ("Expected artifacts", task.expected_artifacts),
    ):
        if items:
            console.print(f"\n[bold]{heading}[/]")
            for item in items:
                console.print(f"  - {item}")
    console.print()
    console.print(transitions_table(trail))
    for event in events:
        console.print(f"  {_when(event.at)}  {event.kind} by {event.actor}: {event.detail}")


def transitions_table(trail: Sequence[Transition]) -> Table:
    """The transition log as a table."""
    table = Table("#", title="Transitions")
    for column in ("at", "from", "to", "actor"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason")
    for t in trail:
        table.add_row(
            str(t.seq), _when(t.at), _status(t.from_status), _status(t.to_status), t.actor, t.reason
        )
    return table
