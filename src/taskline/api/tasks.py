"""`/api/tasks`: create tasks and move them through their lifecycle, as `taskline task ...`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, status
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter

from taskline.api.bodies import AssignBody, MoveBody, ReasonBody
from taskline.api.deps import TaskId, Tl
from taskline.api.errors import NOT_FOUND, REFUSED
from taskline.lifecycle import Status
from taskline.models import INT32_MAX, NewTask, StorableText, Task
from taskline.service import Taskline
from taskline.views import TaskDetailView, TaskView

router = APIRouter(prefix="/api/tasks", tags=["tasks"])

_TASKS = TypeAdapter(list[Task])
DEFAULT_PAGE = 100
MAX_PAGE = 1000
NoReason = Annotated[ReasonBody | None, Body()]


def task_response(tl: Taskline, task: Task, code: int = status.HTTP_200_OK) -> JSONResponse:
    """A task with its transition log and events, as `taskline task create --json` prints it."""
    view = TaskView.of(task, tl.transitions(task.id), tl.events(task.id))
    return JSONResponse(view.model_dump(mode="json"), status_code=code)


@router.get("", response_model=list[Task])
def list_tasks(
    tl: Tl,
    status: Annotated[Status | None, Query(description="Only tasks in this status.")] = None,
    assignee: Annotated[StorableText | None, Query(description="Only tasks of this agent.")] = None,
    order: Annotated[
        Literal["oldest", "newest"], Query(description="Creation order, oldest first or not.")
    ] = "oldest",
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE, description=f"At most this many (up to {MAX_PAGE}).")
    ] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=INT32_MAX, description="Skip this many first.")] = 0,
    after: Annotated[
        StorableText | None,
        Query(
            description="A task id: start past it, in the order asked for. Ids sort in creation"
            " order, so the last id of a page fetches the next one even while tasks are added."
        ),
    ] = None,
) -> Response:
    """A page of tasks, as `taskline task list --json` prints them; the header `X-Total-Count`
    counts all that match the filters."""
    tasks, total = tl.tasks_page(
        limit=limit,
        offset=offset,
        after=after,
        newest_first=order == "newest",
        status=status,
        assignee=assignee,
    )
    return Response(
        _TASKS.dump_json(tasks),
        media_type="application/json",
        headers={"X-Total-Count": str(total)},
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TaskView, responses=REFUSED)
def create_task(body: NewTask, tl: Tl) -> JSONResponse:
    """Create a task in CREATED."""
    task = tl.create_task(body)
    return task_response(tl, task, status.HTTP_201_CREATED)


@router.get("/{task_id}", response_model=TaskDetailView, responses=NOT_FOUND)
def get_task(task_id: TaskId, tl: Tl) -> JSONResponse:
    """A task with its transitions, runs, turns, tool calls, artifacts, reviews and metrics,
    as `taskline task show --json`."""
    task = tl.get_task(task_id)
    view = TaskDetailView.of_detail(
        task, tl.transitions(task_id), tl.events(task_id), tl.detail(task_id)
    )
    return JSONResponse(view.model_dump(mode="json"))


@router.post("/{task_id}/assign", response_model=TaskView, responses=REFUSED)
def assign(task_id: TaskId, body: AssignBody, tl: Tl) -> JSONResponse:
    """Assign a task to an agent (or hand an ASSIGNED task to another agent)."""
    return task_response(tl, tl.assign(task_id, body.agent, reason=body.reason))


@router.post("/{task_id}/move", response_model=TaskView, responses=REFUSED)
def move(task_id: TaskId, body: MoveBody, tl: Tl) -> JSONResponse:
    """Move a task as the lifecycle table allows (the operator's raw move); 409 otherwise."""
    task = tl.move(task_id, body.status, reason=body.reason, assignee=body.assignee)
    return task_response(tl, task)


@router.post("/{task_id}/block", response_model=TaskView, responses=REFUSED)
def block(task_id: TaskId, tl: Tl, body: NoReason = None) -> JSONResponse:
    """Put a task on hold (BLOCKED)."""
    return task_response(tl, tl.block(task_id, reason=body.reason if body else ""))


@router.post("/{task_id}/unblock", response_model=TaskView, responses=REFUSED)
def unblock(task_id: TaskId, tl: Tl, body: NoReason = None) -> JSONResponse:
    """Take a BLOCKED task off hold (back to ASSIGNED)."""
    return task_response(tl, tl.unblock(task_id, reason=body.reason if body else ""))


@router.post("/{task_id}/cancel", response_model=TaskView, responses=REFUSED)
def cancel(task_id: TaskId, tl: Tl, body: NoReason = None) -> JSONResponse:
    """Cancel a task for good (CANCELLED); a run in progress stops before its next turn."""
    return task_response(tl, tl.cancel(task_id, reason=body.reason if body else ""))
