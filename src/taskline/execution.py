"""Running and reviewing tasks: the part of `Taskline` that executes.

`run_task_async` and `review_async` are the one way in for every surface: they
choose between a durable run (a DBOS workflow, see `taskline.durable`) and an
inline one, check the task once, and run it on one `Executor`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from taskline.config import Config
from taskline.engine.events import OnEvent, ignore
from taskline.engine.executor import Executor
from taskline.errors import InvalidValueError
from taskline.llm.pool import ModelFactory, ModelPool
from taskline.models import Task
from taskline.protocols import Observer, Steps, Store
from taskline.tools.base import ToolCallLimits
from taskline.tools.mcp import ServerReport

if TYPE_CHECKING:  # imported when first used: DBOS is heavy to load
    from taskline.durable import Enqueuer, QueueDepth

T = TypeVar("T")


class Execution:
    """What `Taskline` runs tasks with; its attributes are set by `Taskline.__init__`."""

    store: Store
    config: Config
    actor: str
    home: Path
    private: tuple[Path, ...]
    model_factory: ModelFactory | None
    models: ModelPool
    durable: bool
    observer: Observer
    _enqueuer: Enqueuer | None
    _queue_depth: QueueDepth | None = None  # once `queued_runs` was asked

    # -- execution ------------------------------------------------------------

    def executor(self, on_event: OnEvent = ignore, *, steps: Steps | None = None) -> Executor:
        """The engine that runs this store's tasks (its steps checkpointed by `steps`)."""
        return Executor(
            self.store,
            self.home,
            endpoints=self.config.endpoints,
            sandbox=self.config.sandbox_policy((self.home.absolute(), *self.private)),
            model_factory=self.model_factory,
            on_event=on_event,
            steps=steps,
            models=self.models,
            tool_calls=ToolCallLimits(
                max_parallel=self.config.defaults.max_parallel_tool_calls,
                max_per_turn=self.config.defaults.max_tool_calls_per_turn,
            ),
            mcp_servers=self.config.mcp,
            observer=self.observer,
        )

    def mcp_servers(self, workspace: Path | None = None) -> list[ServerReport]:
        """Every MCP server of the config, started once to list its tools and stopped: whether
        it starts, why not, and its tools. `{workspace}` is `workspace` (default: here)."""
        workspace = (workspace or Path.cwd()).absolute()
        if not workspace.is_dir():
            raise InvalidValueError(f"workspace {str(workspace)!r} is not a directory")
        # No agent's: a server's network and variables come from its own table.
        policy = self.config.sandbox_policy((self.home.absolute(), *self.private))
        sandbox = policy.for_agent("")
        from taskline.tools.mcp import report_servers

        return asyncio.run(report_servers(self.config.mcp, workspace=workspace, sandbox=sandbox))

    def run_task(
        self, task_id: str, *, timeout_seconds: float | None = None, on_event: OnEvent = ignore
    ) -> Task:
        """Execute an ASSIGNED (or FAILED) task; returns it COMPLETED, FAILED or IN_REVIEW.

        A durable Taskline runs it as a DBOS workflow in this process; if the process
        dies, the next `run_task` of the task (or a worker) resumes it.
        """
        return self._run(
            self.run_task_async(task_id, timeout_seconds=timeout_seconds, on_event=on_event)
        )

    async def run_task_async(
        self, task_id: str, *, timeout_seconds: float | None = None, on_event: OnEvent = ignore
    ) -> Task:
        """`run_task` in the caller's event loop: the one way a run starts, for the library,
        the CLI and the HTTP API. It chooses between a durable run (a DBOS workflow, which
        `taskline worker` also runs when queued by `enqueue_run`) and an inline one, checks
        the task once, and runs it on one executor."""
        if self.durable:
            from taskline import durable

            return await durable.run_in_foreground(
                self, task_id, timeout_seconds=timeout_seconds, on_event=on_event
            )
        executor = self.executor(on_event)
        await asyncio.to_thread(executor.check_runnable, task_id)
        return await executor.run_task(task_id, timeout_seconds=timeout_seconds)

    def enqueue_run(self, task_id: str, *, timeout_seconds: float | None = None) -> str:
        """Queue a run of the task for `taskline worker`; returns the workflow id.

        The task is checked now, when the person who queued it can be told; the worker's
        run refuses, as it starts, a task that is no longer ASSIGNED or FAILED."""
        self.executor().check_runnable(task_id)
        return self._queue().enqueue(task_id, timeout_seconds=timeout_seconds)

    def queued_runs(self) -> int:
        """Runs queued with `enqueue_run` that no worker has taken yet."""
        from taskline import durable

        if self._queue_depth is None:
            self._queue_depth = durable.QueueDepth(self)
        return self._queue_depth.read()

    def _queue(self) -> Enqueuer:
        from taskline import durable

        if self._enqueuer is None:
            self._enqueuer = durable.Enqueuer(self)
        return self._enqueuer

    def _close_queue(self) -> None:
        """Release the run queue's connections, if they were opened."""
        if self._enqueuer is not None:
            self._enqueuer.close()
            self._enqueuer = None
        if self._queue_depth is not None:
            self._queue_depth.close()
            self._queue_depth = None

    def review(
        self, task_id: str, *, approve: bool, feedback: str = "", on_event: OnEvent = ignore
    ) -> Task:
        """A person's verdict on a task in IN_REVIEW; a rejection runs the rework at once."""
        return self._run(
            self.review_async(task_id, approve=approve, feedback=feedback, on_event=on_event)
        )

    async def review_async(
        self, task_id: str, *, approve: bool, feedback: str = "", on_event: OnEvent = ignore
    ) -> Task:
        """`review` in the caller's event loop; like `run_task_async`, the one way a verdict
        is recorded, durable or inline. The verdict's step checks that the task is in
        review; a durable one is also checked before its workflow starts, where a refusal
        is one line rather than a failed workflow."""
        if self.durable:
            from taskline import durable

            return await durable.review_in_foreground(
                self, task_id, approve=approve, feedback=feedback, on_event=on_event
            )
        return await self.executor(on_event).human_review(
            task_id, approve=approve, feedback=feedback, actor=self.actor
        )

    # -- durable runtime ------------------------------------------------------

    def start_durable(self, on_event: OnEvent = ignore) -> None:
        """Launch durable execution (DBOS) in this process for this store, once: from the
        event loop that is to run the workflows it resumes (those a crash left unfinished
        here), with `on_event` the one sink of their progress. A server does this as it
        starts; `run_task` and `review` do it themselves."""
        from taskline import durable

        durable.launch(self, on_event=on_event)

    def stop_durable(self) -> None:
        """Stop durable execution in this process; its unfinished runs stay resumable."""
        from taskline import durable

        durable.shutdown()

    def serve_worker(
        self,
        worker_id: str,
        *,
        concurrency: int,
        heartbeat_timeout_seconds: float,
        on_event: OnEvent = ignore,
    ) -> None:
        """Be the worker `worker_id` until SIGTERM or SIGINT: run the runs queued with
        `enqueue_run`, `concurrency` at a time, and adopt those of workers gone silent for
        `heartbeat_timeout_seconds`. Stopping finishes the steps in flight and leaves the
        runs resumable."""
        from taskline import durable

        durable.serve(
            self,
            worker_id=worker_id,
            concurrency=concurrency,
            heartbeat_timeout_seconds=heartbeat_timeout_seconds,
            on_event=on_event,
        )

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` in an event loop of its own, closing the models it opened there."""

        async def main() -> T:
            try:
                return await work
            finally:
                await self.aclose_models()

        return asyncio.run(main())

    async def aclose_models(self) -> None:
        """Close the model clients that runs in the caller's event loop opened."""
        await self.models.aclose()
