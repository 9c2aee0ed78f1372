"""Runs and reworks started through the API, executed in the server process in the background.

The request that starts one waits only until the run is under way (its first
progress event) or already over, so a refusal (the task is not ASSIGNED, a
dependency is not COMPLETED, somebody moved it first) is still that request's
error; then it answers 202 and the run goes on as an asyncio task.

Every run of the process reports to one event sink, `BackgroundRuns.on_event`,
which files each event under its task: a durable server has one DBOS runtime
with one sink for all its workflows, including the runs DBOS resumed at start
that no request started.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from taskline.engine.events import OnEvent, ProgressEvent
from taskline.errors import TasklineError
from taskline.models import Task

log = logging.getLogger(__name__)

Work = Callable[[OnEvent], Coroutine[Any, Any, Task]]
"""A run or a review: given the event sink, the coroutine that does it."""


class BackgroundRuns:
    """The runs this server is executing, and the latest progress of each."""

    def __init__(self) -> None:
        self._jobs: dict[asyncio.Task[Task], str] = {}
        self._starting: dict[str, set[asyncio.Event]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.progress: dict[str, ProgressEvent] = {}
        """The latest progress event of each task running here, by task id."""

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Take events on `loop`, the server's: events sent from other threads move to it."""
        self._loop = loop

    def on_event(self, event: ProgressEvent) -> None:
        """The event sink of every run in this process: keeps the event as its task's latest
        progress and wakes the request waiting for that run to get under way. Any thread."""
        loop = self._loop
        if loop is None or _running_in(loop):
            self._record(event)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._record, event)

    def _record(self, event: ProgressEvent) -> None:
        self.progress[event.task_id] = event
        for started in self._starting.get(event.task_id, ()):
            started.set()

    def running(self, task_id: str) -> bool:
        """Whether a request to this server started the run (or rework) going on now."""
        return task_id in self._jobs.values()

    async def start(self, task_id: str, work: Work) -> Task | None:
        """Start `work`; None once it is under way, or the task if it already ended.

        Raises what `work` raised when it failed before getting under way.
        """
        self.attach(asyncio.get_running_loop())
        coroutine = work(self.on_event)  # may refuse at once
        if not self.running(task_id):
            self.progress.pop(task_id, None)  # from an earlier run: says nothing of this one
        started = asyncio.Event()
        self._starting.setdefault(task_id, set()).add(started)
        job = asyncio.create_task(coroutine, name=f"taskline run of {task_id}")
        self._jobs[job] = task_id
        job.add_done_callback(self._finished)
        waiting = asyncio.create_task(started.wait())
        try:
            await asyncio.wait({job, waiting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
            starting = self._starting[task_id]
            starting.discard(started)
            if not starting:
                del self._starting[task_id]
        return job.result() if job.done() else None

    def _finished(self, job: asyncio.Task[Task]) -> None:
        task_id = self._jobs.pop(job)
        if not self.running(task_id):
            self.progress.pop(task_id, None)
        if job.cancelled():
            return
        error = job.exception()
        if isinstance(error, TasklineError):  # a refusal: the request that started it got it
            log.info("run of task %s refused: %s", task_id, error)
        elif error is not None:
            log.error("run of task %s crashed", task_id, exc_info=error)

    async def aclose(self, *, durable: bool = False) -> None:
        """Stop waiting for the runs: the server is shutting down.

        An inline run stops here and its task stays IN_PROGRESS. A durable run is a
        DBOS workflow that only its own cancellation stops, when the event loop ends;
        the next server (or `taskline task run`) resumes it from its last step.
        """
        jobs = list(self._jobs)
        for job in jobs:
            if durable:
                log.warning(
                    "server stopping: run of task %s resumes when the server starts again",
                    self._jobs[job],
                )
            else:
                log.warning(
                    "server stopping: run of task %s interrupted, the task stays IN_PROGRESS",
                    self._jobs[job],
                )
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)


def _running_in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:  # no loop in this thread
        return False
