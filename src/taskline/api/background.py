"""Runs and reworks started through the API, executed in the server process in the background.

The request that starts one waits only until the run is under way (its first
progress event) or already over, so a refusal (the task is not ASSIGNED, a
dependency is not COMPLETED, somebody moved it first) is still that request's
error; then it answers 202 and the run goes on as an asyncio task.
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


class BackgroundRuns:
    """The runs this server is executing, and the latest progress of each."""

    def __init__(self) -> None:
        self._jobs: dict[asyncio.Task[Task], str] = {}
        self.progress: dict[str, ProgressEvent] = {}
        """The latest progress event of each task running here, by task id."""

    def running(self, task_id: str) -> bool:
        """Whether this server is running (or reworking) the task now."""
        return task_id in self._jobs.values()

    async def start(self, task_id: str, work: Work) -> Task | None:
        """Start `work`; None once it is under way, or the task if it already ended.

        Raises what `work` raised when it failed before getting under way.
        """
        started = asyncio.Event()

        def on_event(event: ProgressEvent) -> None:
            self.progress[task_id] = event
            started.set()

        job = asyncio.create_task(work(on_event), name=f"taskline run of {task_id}")
        self._jobs[job] = task_id
        job.add_done_callback(self._finished)
        waiting = asyncio.create_task(started.wait())
        try:
            await asyncio.wait({job, waiting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
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

    async def aclose(self) -> None:
        """Stop every run: the server is shutting down."""
        jobs = list(self._jobs)
        for job in jobs:
            log.warning(
                "server stopping: run of task %s interrupted, the task stays IN_PROGRESS",
                self._jobs[job],
            )
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
