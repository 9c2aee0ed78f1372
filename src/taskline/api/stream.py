"""`GET /api/tasks/{id}/stream`: a task's progress as server-sent events.

It reads the store, so it follows a run started anywhere: by this server, by
`taskline task run` in a terminal, or by a worker. Every `POLL_SECONDS` it
sends what is new since its last look, oldest first, starting with everything
the task has so far:

    transition  a status change (from, to, at, actor, reason, seq)
    run         a run started or ended (the run, without its turns)
    turn        a finished turn with its tool calls (and `run_number`)
    cost        a cost record
    review      a verdict
    progress    where a run executed by this server is (turn, tool, tokens, cost)
    end         the last event: {"status": ..., "reason": "finished" | "waiting_for_review"
                | "time_limit"}

The stream ends when the task is COMPLETED, CANCELLED or FAILED, when it waits
in IN_REVIEW for a person, or after `max_seconds`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent

from taskline.api.auth import require_token_or_query
from taskline.api.deps import ExistingTaskId, Runs, Tl
from taskline.api.errors import COMMON, NOT_FOUND, Responses
from taskline.api.views import ProgressView
from taskline.engine.events import ProgressEvent
from taskline.lifecycle import ENDED, Status
from taskline.models import Task
from taskline.records import Review
from taskline.service import Taskline

POLL_SECONDS = 0.5

# Errors are JSON even here: declared by hand, or FastAPI would list them as text/event-stream.
JSON_ERRORS: Responses = {
    code: {
        "description": spec["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for code, spec in {**COMMON, **NOT_FOUND}.items()
}

router = APIRouter(prefix="/api", tags=["tasks"], dependencies=[Depends(require_token_or_query)])


def waiting_for_person(task: Task, reviews: list[Review], last_run_id: str | None) -> bool:
    """Whether the task sits in IN_REVIEW with its checks and reviewer agents done, for a
    person's verdict."""
    if task.status is not Status.IN_REVIEW or not task.human_review:
        return False
    needed = {f"agent:{name}" for name in task.reviewers} | ({"checks"} if task.checks else set())
    done = {r.reviewer for r in reviews if r.run_id == last_run_id and r.approved}
    return needed <= done


class TaskWatcher:
    """What changed in a task's records since the last look."""

    def __init__(self, tl: Taskline, task_id: str) -> None:
        self.tl = tl
        self.task_id = task_id
        self.last_seq = 0
        self.runs: dict[str, str] = {}  # run id -> the status last sent
        self.turns: dict[str, int] = {}  # run id -> the last turn sent
        self.finished_runs: set[str] = set()  # ended, and their turns all sent
        self.seen: set[str] = set()  # ids of cost records and reviews sent

    def look(self) -> tuple[Task, list[ServerSentEvent], bool]:
        """The task, the events since the last look, and whether the stream is done."""
        tl = self.tl
        task = tl.get_task(self.task_id)
        events = [
            ServerSentEvent(event="transition", data=t.model_dump(mode="json", exclude={"task_id"}))
            for t in tl.transitions(self.task_id)
            if t.seq > self.last_seq
        ]
        if events:
            self.last_seq = max(self.last_seq, *(e.data["seq"] for e in events))
        runs = tl.runs(self.task_id)
        for run in runs:
            events += self._run_events(run.id, run.number, run.status, run.model_dump(mode="json"))
        events += self._new("cost", tl.cost_records(self.task_id))
        reviews = tl.reviews(self.task_id)
        events += self._new("review", reviews)
        last_run = runs[-1].id if runs else None
        done = task.status in ENDED or waiting_for_person(task, reviews, last_run)
        return task, events, done

    def _run_events(
        self, run_id: str, number: int, status: str, data: dict[str, Any]
    ) -> list[ServerSentEvent]:
        if run_id in self.finished_runs:
            return []
        events = []
        if self.runs.get(run_id) != status:
            self.runs[run_id] = status
            data.pop("task_id", None)
            events.append(ServerSentEvent(event="run", data=data))
        calls = self.tl.tool_calls(run_id)
        for turn in self.tl.turns(run_id):
            if turn.number <= self.turns.get(run_id, 0):
                continue
            self.turns[run_id] = turn.number
            turn_data = {
                **turn.model_dump(mode="json"),
                "run_number": number,
                "tool_calls": [
                    c.model_dump(mode="json", exclude={"run_id", "turn"})
                    for c in calls
                    if c.turn == turn.number
                ],
            }
            events.append(ServerSentEvent(event="turn", data=turn_data))
        if status != "running":
            self.finished_runs.add(run_id)
        return events

    def _new(self, kind: str, records: list[Any]) -> list[ServerSentEvent]:
        events = []
        for record in records:
            if record.id not in self.seen:
                self.seen.add(record.id)
                events.append(ServerSentEvent(event=kind, data=record.model_dump(mode="json")))
        return events


def _progress(event: ProgressEvent) -> ServerSentEvent:
    view = ProgressView(
        kind=event.kind,
        run_number=event.run_number,
        turn=event.turn,
        tokens=event.tokens,
        cost_usd=None if event.cost_usd is None else float(event.cost_usd),
        elapsed_seconds=round(event.elapsed_seconds, 3),
        detail=event.detail,
    )
    return ServerSentEvent(event="progress", data=view)


@router.get(
    "/tasks/{task_id}/stream",
    response_class=EventSourceResponse,
    responses=JSON_ERRORS,
)
async def stream(
    task_id: ExistingTaskId,
    tl: Tl,
    runs: Runs,
    max_seconds: Annotated[
        float, Query(gt=0, le=86_400, description="End the stream after this long.")
    ] = 1800,
) -> AsyncIterator[ServerSentEvent]:
    """The task's transitions, runs, turns, cost records and reviews as server-sent events,
    live until the task ends or waits for a person. Accepts the token as `?token=` too,
    for browsers' EventSource."""
    watcher = TaskWatcher(tl, task_id)
    deadline = time.monotonic() + max_seconds
    sent_progress: ProgressEvent | None = None
    while True:
        # The store is synchronous: read it off the event loop.
        task, events, done = await asyncio.to_thread(watcher.look)
        for event in events:
            yield event
        progress = runs.progress.get(task_id)
        if progress is not None and progress is not sent_progress and not done:
            sent_progress = progress
            yield _progress(progress)
        if done or time.monotonic() >= deadline:
            reason = "time_limit"
            if task.status in ENDED:
                reason = "finished"
            elif done:
                reason = "waiting_for_review"
            yield ServerSentEvent(event="end", data={"status": task.status, "reason": reason})
            return
        await asyncio.sleep(POLL_SECONDS)
