"""What endpoints are handed: the `Taskline`, the background runs, and ids from the path."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Path, Request

from taskline.api.background import BackgroundRuns
from taskline.api.bodies import storable
from taskline.errors import NotFoundError
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


def _task_id(task_id: Annotated[str, Path(description="The task's id.")]) -> str:
    return key("task", task_id)


def _existing_task_id(task_id: Annotated[str, Depends(_task_id)], tl: Tl) -> str:
    tl.get_task(task_id)
    return task_id


def _agent_name(name: Annotated[str, Path(description="The agent's name.")]) -> str:
    return key("agent", name)


def _run_id(run_id: Annotated[str, Path(description="The run's id.")]) -> str:
    return key("run", run_id)


TaskId = Annotated[str, Depends(_task_id)]
ExistingTaskId = Annotated[str, Depends(_existing_task_id)]
"""A task id checked before the endpoint runs: a stream answers 404 before it starts."""
AgentName = Annotated[str, Depends(_agent_name)]
RunId = Annotated[str, Depends(_run_id)]
