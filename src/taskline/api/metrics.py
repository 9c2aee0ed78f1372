"""`/api/metrics`: overhead per task and across tasks, as `taskline metrics [--task ID]`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from taskline.api.deps import TaskId, Tl
from taskline.api.errors import NOT_FOUND
from taskline.api.tasks import DEFAULT_PAGE, MAX_PAGE
from taskline.api.views import MetricsReport, MetricsRow
from taskline.models import INT32_MAX, StorableText
from taskline.records import TaskMetrics

router = APIRouter(prefix="/api", tags=["metrics"])


@router.get("/tasks/{task_id}/metrics", response_model=TaskMetrics, responses=NOT_FOUND)
def task_metrics(task_id: TaskId, tl: Tl) -> JSONResponse:
    """The task's turns, tokens, cost, duration, tool calls, runs and retries; 404 until it
    first reached COMPLETED or FAILED."""
    stored = tl.metrics(task_id)
    if stored is None:
        detail = f"task {task_id} has no metrics yet: it has not finished"
        return JSONResponse({"detail": detail}, status_code=404)
    return JSONResponse(stored.model_dump(mode="json"))


@router.get("/metrics", response_model=MetricsReport)
def report(tl: Tl) -> JSONResponse:
    """Distributions of turns, tokens, cost and duration per task, overall, by agent and by
    model, and the outliers."""
    return JSONResponse(tl.metrics_report())


@router.get("/metrics/tasks", response_model=list[MetricsRow])
def rows(
    tl: Tl,
    order: Annotated[
        Literal["oldest", "newest"], Query(description="By task id, oldest first or not.")
    ] = "oldest",
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE, description=f"At most this many (up to {MAX_PAGE}).")
    ] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=INT32_MAX, description="Skip this many first.")] = 0,
    after: Annotated[
        StorableText | None,
        Query(
            description="A task id: start past it, in the order asked for; the last id of a"
            " page fetches the next."
        ),
    ] = None,
) -> JSONResponse:
    """Finished tasks' measures, with their agent, model and finishing time: the points the
    dashboard's charts are drawn from. One page, like `/api/tasks`: the header
    `X-Total-Count` counts every task with metrics."""
    found, total = tl.finished_page(
        limit=limit, offset=offset, after=after, newest_first=order == "newest"
    )
    return JSONResponse(
        [
            {
                "task_id": row.task_id,
                "agent": row.agent,
                "model": row.model,
                "finished_at": finished_at.isoformat(),
                **row.values,
            }
            for row, finished_at in found
        ],
        headers={"X-Total-Count": str(total)},
    )
