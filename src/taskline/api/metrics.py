"""`/api/metrics`: overhead per task and across tasks, as `taskline metrics [--task ID]`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from taskline.api.deps import TaskId, Tl
from taskline.api.errors import NOT_FOUND
from taskline.api.views import MetricsReport, MetricsRow
from taskline.records import TaskMetrics
from taskline.reports import metrics_report

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
    return JSONResponse(metrics_report(tl.metrics_rows()))


@router.get("/metrics/tasks", response_model=list[MetricsRow])
def rows(tl: Tl) -> JSONResponse:
    """Every finished task's measures, with its agent, model and finishing time: the points
    the dashboard's charts are drawn from."""
    return JSONResponse(
        [
            {
                "task_id": row.task_id,
                "agent": row.agent,
                "model": row.model,
                "finished_at": finished_at.isoformat(),
                **row.values,
            }
            for row, finished_at in tl.finished_rows()
        ]
    )
