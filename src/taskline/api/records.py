"""What runs left: runs with their turns and tool calls, cost records and artifacts."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from taskline.api import files
from taskline.api.deps import RunId, TaskId, Tl, key
from taskline.api.errors import NOT_FOUND
from taskline.api.views import PreviewView
from taskline.records import Run
from taskline.service import Taskline
from taskline.views import CostsView, RunArtifactView, RunView

router = APIRouter(prefix="/api", tags=["records"])

RunQuery = Annotated[str, Query(description="The run that changed the file.")]
PathQuery = Annotated[str, Query(description="The file's path relative to the workspace.")]


def _run_json(tl: Taskline, run: Run) -> dict[str, Any]:
    view = RunView.of(run, tl.turns(run.id), tl.tool_calls(run.id))
    return view.model_dump(mode="json")


@router.get("/tasks/{task_id}/runs", response_model=list[RunView], responses=NOT_FOUND)
def task_runs(task_id: TaskId, tl: Tl) -> JSONResponse:
    """The task's runs, first to last, each with its turns and their tool calls."""
    return JSONResponse([_run_json(tl, run) for run in tl.runs(task_id)])


@router.get("/runs/{run_id}", response_model=RunView, responses=NOT_FOUND)
def get_run(run_id: RunId, tl: Tl) -> JSONResponse:
    """One run with its turns and their tool calls."""
    return JSONResponse(_run_json(tl, tl.get_run(run_id)))


@router.get("/costs", response_model=CostsView, responses=NOT_FOUND)
def costs(
    tl: Tl,
    task: Annotated[str | None, Query(description="Only this task's calls.")] = None,
) -> JSONResponse:
    """Every billed LLM call with its tokens and cost, and the totals."""
    records = tl.cost_records(None if task is None else key("task", task))
    return JSONResponse(CostsView.of(records).model_dump(mode="json"))


@router.get("/tasks/{task_id}/artifacts", response_model=list[RunArtifactView], responses=NOT_FOUND)
def artifacts(task_id: TaskId, tl: Tl) -> JSONResponse:
    """Files the task's runs created, modified or deleted, by run then path."""
    found = tl.artifacts(task_id)
    return JSONResponse([RunArtifactView.of(a).model_dump(mode="json") for a in found])


@router.get(
    "/tasks/{task_id}/artifacts/content",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, **NOT_FOUND},
)
def download(task_id: TaskId, run_id: RunQuery, path: PathQuery, tl: Tl) -> Response:
    """The file as the run left it (before deletion, for a deleted file)."""
    artifact, _earlier = files.find_artifact(tl, task_id, run_id, path)
    name = quote(artifact.path.rsplit("/", 1)[-1])
    return Response(
        files.content(tl, artifact),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


@router.get("/tasks/{task_id}/artifacts/preview", response_model=PreviewView, responses=NOT_FOUND)
def preview(task_id: TaskId, run_id: RunQuery, path: PathQuery, tl: Tl) -> JSONResponse:
    """The file's text (bounded) and a diff against what the previous run left, for display."""
    return JSONResponse(files.preview(tl, task_id, run_id, path))
