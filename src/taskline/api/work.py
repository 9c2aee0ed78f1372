"""Running tasks and reviewing their work, as `taskline task run` and `taskline review ...`.

A run goes on in the server process after the request answers 202; follow it
on `GET /api/tasks/{id}/stream`. Approving is quick and answers 200 with the
COMPLETED task; rejecting starts the rework run and answers 202, like a run.

On a durable `Taskline` (the default, `TASKLINE_DURABLE=1`) runs and reviews
are DBOS workflows, as with the CLI: a server that dies mid-run resumes the run
from its last finished step when it starts again. Otherwise the engine runs
them directly and a stopped server leaves them IN_PROGRESS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Body, status
from fastapi.responses import JSONResponse

from taskline.api.background import Work
from taskline.api.bodies import ReviewBody, RunBody
from taskline.api.deps import Runs, TaskId, Tl
from taskline.api.errors import REFUSED
from taskline.api.tasks import task_response
from taskline.api.views import TaskView
from taskline.engine.events import OnEvent
from taskline.models import Task
from taskline.service import Taskline

router = APIRouter(prefix="/api/tasks", tags=["runs"])

STARTED: dict[int | str, dict[str, Any]] = {
    202: {"model": TaskView, "description": "Under way: the task as it is now."},
    **REFUSED,
}


async def _start(tl: Taskline, runs: Runs, task_id: str, work: Work) -> JSONResponse:
    ended = await runs.start(task_id, work)
    # The answer reads the store, which may wait on a lock: not on the event loop.
    if ended is not None:
        return await asyncio.to_thread(task_response, tl, ended)
    under_way = await asyncio.to_thread(tl.get_task, task_id)
    return await asyncio.to_thread(task_response, tl, under_way, status.HTTP_202_ACCEPTED)


@router.post(
    "/{task_id}/run",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TaskView,
    responses={200: {"model": TaskView, "description": "The run ended at once."}, **STARTED},
)
async def run(
    task_id: TaskId, tl: Tl, runs: Runs, body: Annotated[RunBody | None, Body()] = None
) -> JSONResponse:
    """Execute an ASSIGNED (or FAILED) task in the background until COMPLETED, FAILED or
    waiting for review; answers 202 once the run is under way."""
    timeout_seconds = body.timeout_seconds if body else None

    def work(on_event: OnEvent) -> Coroutine[Any, Any, Task]:
        return tl.run_task_async(task_id, timeout_seconds=timeout_seconds, on_event=on_event)

    return await _start(tl, runs, task_id, work)


def _review(tl: Taskline, task_id: str, *, approve: bool, feedback: str) -> Work:
    def work(on_event: OnEvent) -> Coroutine[Any, Any, Task]:
        return tl.review_async(task_id, approve=approve, feedback=feedback, on_event=on_event)

    return work


@router.post(
    "/{task_id}/review/approve",
    response_model=TaskView,
    responses=REFUSED,
)
async def approve(
    task_id: TaskId, tl: Tl, runs: Runs, body: Annotated[ReviewBody | None, Body()] = None
) -> JSONResponse:
    """Approve the work of a task in IN_REVIEW: it becomes COMPLETED."""
    work = _review(tl, task_id, approve=True, feedback=body.feedback if body else "")
    return await _start(tl, runs, task_id, work)


@router.post(
    "/{task_id}/review/reject",
    response_model=TaskView,
    responses={200: {"model": TaskView, "description": "Past max_rework: FAILED."}, **STARTED},
)
async def reject(
    task_id: TaskId, tl: Tl, runs: Runs, body: Annotated[ReviewBody | None, Body()] = None
) -> JSONResponse:
    """Reject the work: the agent reworks it with the feedback in the background (202), or
    the task FAILED past its max_rework (200)."""
    work = _review(tl, task_id, approve=False, feedback=body.feedback if body else "")
    return await _start(tl, runs, task_id, work)
