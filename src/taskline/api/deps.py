"""What endpoints are handed: the `Taskline`, the background runs, and ids from the path."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Path, Request

from taskline.api.background import BackgroundRuns
from taskline.errors import NotFoundError
from taskline.models import storable
from taskline.service import Taskline


def get_taskline(request: Request) -> Taskline:
    """The server's `Taskline`."""
    return cast(Taskline, request.app.state.taskline)


def get_runs(request: Request) -> BackgroundRuns:
    """The runs the server executes."""
    return cast(BackgroundRuns, request.app.state.runs)


Tl = Annotated[Taskline, Depends(get_taskline)]
Runs = Annotated[BackgroundRuns, Depends(get_runs)]


def key(kind: str, value: str) -> str:
    """`value` as a key to look up; one no database could hold names nothing: 404."""
    if not storable(value):
        raise NotFoundError(kind, value)
    return value


def _task_id(
    task_id: Annotated[str, Path(description="The task's id, or any unique prefix of it.")],
    tl: Tl,
) -> str:
    return tl.resolve_task_id(key("task", task_id))


def _agent_name(name: Annotated[str, Path(description="The agent's name.")]) -> str:
    return key("agent", name)


def _run_id(
    run_id: Annotated[str, Path(description="The run's id, or any unique prefix of it.")],
    tl: Tl,
) -> str:
    return tl.resolve_run_id(key("run", run_id))


TaskId = Annotated[str, Depends(_task_id)]
"""The full id of an existing task, from an id or a prefix in the path; 404 before the
endpoint runs when there is no such task, 422 when the prefix is ambiguous."""
ExistingTaskId = TaskId
AgentName = Annotated[str, Depends(_agent_name)]
RunId = Annotated[str, Depends(_run_id)]
