"""Running tasks and what they leave: `run`, `review`, `artifacts`, `metrics`, `costs`."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from taskline import render
from taskline.cli.common import (
    FullIds,
    JsonFlag,
    TaskId,
    _print_json,
    _taskline,
    app,
)
from taskline.costs import total
from taskline.engine.apply import Applied
from taskline.errors import InvalidValueError
from taskline.lifecycle import Status
from taskline.models import Task
from taskline.progress import LiveProgress
from taskline.render import shown
from taskline.service import Taskline
from taskline.views import CostsView, RunArtifactView


@app.command("costs")
def costs(
    task_id: Annotated[
        str | None, typer.Option("--task", metavar="TASK", help="Only this task's calls.")
    ] = None,
    as_json: JsonFlag = False,
    full_ids: FullIds = False,
) -> None:
    """List billed LLM calls with their tokens and cost, and the totals."""
    with _taskline() as tl:
        records = tl.cost_records(None if task_id is None else tl.resolve_task_id(task_id))
    if as_json:
        _print_json(CostsView.of(records).model_dump(mode="json"))
    else:
        render.costs_table(records, total(records), full_ids=full_ids)


review_app = typer.Typer(help="Approve or reject work waiting for a person.", no_args_is_help=True)
app.add_typer(review_app, name="review")

Feedback = Annotated[str, typer.Option("--feedback", "-f", help="Why, sent to the agent.")]


def finish(task: Task, tl: Taskline, *, err: bool = False) -> None:
    """Print how a run ended (on stderr with `err`); a FAILED task exits 1.

    A FAILED task is one line on stderr, whatever the length of its reason: the
    reason's first line and where to read the rest.
    """
    if task.status is not Status.FAILED:
        render.run_result(task, tl.metrics(task.id), err=err)
        return
    if not err:  # stdout has room for the result; stderr keeps to the one line
        render.run_result(task, tl.metrics(task.id))
    typer.echo(render.failure_line(task), err=True)
    raise typer.Exit(1)


def execute(tl: Taskline, task_id: str, timeout_seconds: float | None) -> Task:
    """Run a task with live progress on stderr."""
    with LiveProgress() as progress:
        return tl.run_task(task_id, timeout_seconds=timeout_seconds, on_event=progress)


@review_app.command("approve")
def review_approve(task_id: TaskId, feedback: Feedback = "") -> None:
    """Approve the work of a task in IN_REVIEW: it becomes COMPLETED."""
    with _taskline() as tl:
        finish(tl.review(tl.resolve_task_id(task_id), approve=True, feedback=feedback), tl)


@review_app.command("reject")
def review_reject(task_id: TaskId, feedback: Feedback = "") -> None:
    """Reject the work: the agent reworks it with the feedback (FAILED past max_rework)."""
    with _taskline() as tl, LiveProgress() as progress:
        task = tl.review(
            tl.resolve_task_id(task_id), approve=False, feedback=feedback, on_event=progress
        )
    with _taskline() as tl:
        finish(task, tl)


@app.command("artifacts")
def artifacts(
    task_id: TaskId,
    as_json: JsonFlag = False,
    extract: Annotated[
        Path | None,
        typer.Option(help="Write the artifacts' final contents into this directory."),
    ] = None,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Write the work of a task run with --copy into its workspace, then remove"
            " the copy; refused, writing nothing, if a file it touches changed there since.",
        ),
    ] = False,
    discard: Annotated[
        bool,
        typer.Option("--discard", help="Remove a task's copy without writing its work back."),
    ] = False,
    full_ids: FullIds = False,
) -> None:
    """List the files a task's runs created, modified or deleted."""
    if apply and discard:
        raise InvalidValueError("--apply and --discard exclude each other")
    with _taskline() as tl:
        task_id = tl.resolve_task_id(task_id)
        if apply:
            _print_applied(tl.apply_copy(task_id), as_json=as_json)
            return
        if discard:
            typer.echo(f"removed the copy {tl.discard_copy(task_id)}; nothing was written")
            return
        found = tl.artifacts(task_id)
        written = tl.extract_artifacts(task_id, extract) if extract is not None else []
    if as_json:
        _print_json([RunArtifactView.of(a).model_dump(mode="json") for a in found])
    else:
        render.artifacts_table(found, full_ids=full_ids)
    for path in written:
        typer.echo(f"extracted {path}", err=True)


def _print_applied(applied: Applied, *, as_json: bool) -> None:
    """One line per file on stdout (`modified  path`), then what became of the copy."""
    if as_json:
        _print_json([asdict(change) for change in applied.changes])
    else:
        for change in applied.changes:
            note = "" if change.written else f" (already so in {applied.workspace})"
            typer.echo(f"{change.change:<9} {shown(change.path)}{note}")
    made = sum(change.written for change in applied.changes)
    done = (
        f"applied {made} change{'' if made == 1 else 's'} to {applied.workspace}"
        if applied.changes
        else "nothing to apply: the copy has no changes"
    )
    typer.echo(f"{done}; removed the copy {applied.copy}", err=True)


@app.command("metrics")
def metrics(
    task_id: Annotated[
        str | None, typer.Option("--task", metavar="TASK", help="One task's metrics.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Overhead per task: turns, tokens, cost, duration — or their distributions."""
    with _taskline() as tl:
        if task_id is not None:
            task_id = tl.resolve_task_id(task_id)
            stored = tl.metrics(task_id)
            if stored is None:
                raise InvalidValueError(f"task {task_id} has no metrics yet: it has not finished")
            data: dict[str, Any] = stored.model_dump(mode="json")
            if as_json:
                _print_json(data)
            else:
                render.metrics_detail(stored)
            return
        report = tl.metrics_report()
    if as_json:
        _print_json(report)
    else:
        render.metrics_report(report)
