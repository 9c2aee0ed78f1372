"""What every `taskline` command shares: the app, its error handling, common options."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from taskline.errors import InvalidValueError, TasklineError
from taskline.lifecycle import Status
from taskline.render import shown
from taskline.service import Taskline


class _Group(TyperGroup):
    """Turns taskline's own errors into one line on stderr and exit code 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TasklineError as exc:
            # messages quote task text; control characters must not act on the terminal
            typer.echo(f"error: {shown(str(exc))}", err=True)
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
TaskId = Annotated[
    str,
    typer.Argument(
        metavar="TASK", help="The task's id, or any unique prefix of it.", show_default=False
    ),
]
FullIds = Annotated[
    bool, typer.Option("--full-ids", help="Show whole ids instead of unique prefixes.")
]
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
