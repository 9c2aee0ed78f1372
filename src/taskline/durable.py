"""Durable, distributed runs on DBOS.

Each execution of a task is a DBOS workflow. Its few steps per run (the moves, the
workspace snapshot, the artifacts, the checks and verdicts) are DBOS steps,
checkpointed in its system database. Its turns are not: a model call's cost record
(which holds the answer) and a tool call's row (which holds the result) are their
own checkpoints, one write each in the store, and a resumed run replays them from
there (see `taskline.engine.billing`). A process that dies mid-run is resumed from
its last finished step: no step is done twice, no turn is lost, and a call whose
answer the crash lost is recorded as `lost` before it is sent again.

    one machine   SQLite: DBOS keeps its tables in `$TASKLINE_HOME/dbos.sqlite`
                  and is launched in-process by the CLI and the library.
    many machines PostgreSQL: with `TASKLINE_DATABASE_URL` pointing at it, the
                  application data and DBOS's own tables (schema `dbos`) live
                  there; `taskline worker` takes queued runs on any machine.

A foreground `taskline task run` starts the workflow in its own process; a
`--detach` one puts it on the `taskline-runs` queue for the workers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from dbos import (
    DBOS,
    DBOSClient,
    EnqueueOptions,
    SetWorkflowID,
    StepOptions,
    WorkflowHandleAsync,
)
from dbos import _dbos as dbos_internals

from taskline.engine.events import OnEvent, ignore
from taskline.engine.executor import Executor
from taskline.errors import StoreError
from taskline.ids import new_id
from taskline.llm.registry import load_adapters
from taskline.models import Task, utcnow
from taskline.private import private_sqlite
from taskline.protocols import Steps, Store
from taskline.store.base import first_line, one_line_for_known_faults
from taskline.store.engine import normalize_url, without_password
from taskline.version import __version__

R = TypeVar("R")

APP_NAME = "taskline"
RUN_QUEUE = "taskline-runs"
RUN_WORKFLOW = "taskline.run_task"
REVIEW_WORKFLOW = "taskline.review"
# Recovered workflows are re-enqueued on DBOS's internal queue; a foreground
# process listens there only, so it never takes runs queued for the workers.
INTERNAL_QUEUE = "_dbos_internal_queue"
# Where DBOS keeps its tables in PostgreSQL (its default); SQLite has no schemas.
SYSTEM_SCHEMA = "dbos"
DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 30.0
STOP_GRACE_SECONDS = 60.0
# How often an idle worker asks for queued runs: a worker takes at most `concurrency`
# runs per poll, so this bounds its throughput when runs are short.
QUEUE_POLL_SECONDS = 0.1
# Threads for the blocking work of this process's workflows: DBOS's checkpoints and the
# runs' store calls (DBOS makes its pool the event loop's default executor). DBOS's
# default is unbounded: a hundred runs in flight grew a hundred threads, each with a
# malloc arena of its own, 440 KiB per run in flight and slower than a few threads
# (bench/peers, 100 runs x 10 turns: 9.1 s unbounded, 7.0 s with 2 on SQLite, whose
# writes wait for each other anyway; 13.0 s and 10.7 s on PostgreSQL, where a few
# round trips at once overlap).
EXECUTOR_THREADS = {"sqlite": 2, "postgresql": 4}


class Host(Protocol):
    """What the durable runs of a process run against: the `taskline.Taskline` that launched
    DBOS there, named by the little of it used here (the service sits above this module)."""

    @property
    def store(self) -> Store: ...
    @property
    def home(self) -> Path: ...
    @property
    def actor(self) -> str: ...
    def executor(self, on_event: OnEvent = ignore, *, steps: Steps | None = None) -> Executor:
        """The engine for one run or review, its steps checkpointed by `steps`."""
        ...


class _Runtime:
    """What the workflows of this process run against: one host, one event sink."""

    def __init__(self) -> None:
        self.host: Host | None = None
        self.on_event: OnEvent = ignore
        self.system_url: str | None = None
        # The engine a workflow started in this process was checked with, by workflow id:
        # the workflow runs on it. Recovered and queued workflows make their own.
        self.prepared: dict[str, Executor] = {}

    def executor(self) -> Executor:
        """A new engine for one workflow, its steps checkpointed by DBOS."""
        if self.host is None:  # DBOS runs workflows only after `launch`, which sets the host
            raise RuntimeError("a durable workflow ran before taskline.durable.launch")
        return self.host.executor(self.on_event, steps=DbosSteps())

    def executor_of(self, workflow_id: str | None) -> Executor:
        """The engine prepared for the workflow `workflow_id`, else a new one."""
        prepared = self.prepared.pop(workflow_id or "", None)
        return prepared if prepared is not None else self.executor()

    @contextmanager
    def preparing(self, workflow_id: str, executor: Executor) -> Iterator[None]:
        """`executor` is the one for `workflow_id` until its workflow takes it (or the block
        ends, should the workflow never start)."""
        self.prepared[workflow_id] = executor
        try:
            yield
        finally:
            self.prepared.pop(workflow_id, None)


_runtime = _Runtime()


class _StepGate:
    """Counts steps in flight and, once the process is stopping, lets no new one start."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.in_flight = 0

    async def enter(self) -> None:
        if self.stopping.is_set():
            await asyncio.Event().wait()  # parked: the run resumes in the next process
        with self._lock:
            self.in_flight += 1

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


_gate = _StepGate()


class DbosSteps:
    """Steps checkpointed by DBOS: a replayed workflow gets their recorded results."""

    replays = True
    """A step whose work was done but not checkpointed before a crash runs again."""

    async def run(self, name: str, fn: Callable[..., Coroutine[Any, Any, R]], *args: Any) -> R:
        """Run the coroutine function `fn(*args)` as the DBOS step `name`."""
        options: StepOptions = {"name": name}
        await _gate.enter()
        try:
            result: R = await DBOS.run_step_async(options, fn, *args)
        finally:
            _gate.leave()
        return result

    async def call(self, name: str, fn: Callable[..., R], *args: Any) -> R:
        """Run the plain function `fn(*args)` as the DBOS step `name`."""
        options: StepOptions = {"name": name}
        await _gate.enter()
        try:
            return await DBOS.run_step_async(options, fn, *args)
        finally:
            _gate.leave()

    async def unrecorded(
        self, name: str, fn: Callable[..., Coroutine[Any, Any, R]], *args: Any
    ) -> R:
        """Await `fn(*args)` with no DBOS checkpoint (the store's records are its own), but
        as a step in flight: a stopping worker starts none."""
        await _gate.enter()
        try:
            return await fn(*args)
        finally:
            _gate.leave()


@DBOS.workflow(name=RUN_WORKFLOW)
async def run_task_workflow(task_id: str, timeout_seconds: float | None) -> str:
    """Execute a task that was found runnable when the workflow was started or queued: the
    durable form of `Executor.run_task`."""
    workflow_id = DBOS.workflow_id
    executor = _runtime.executor_of(workflow_id)
    # The run takes the id that ends the workflow's (`run-TASK-ID`): a replay of its start
    # finds it, and another workflow of the task does not take it for its own.
    run_id = (workflow_id or "").rpartition("-")[2] or None
    task = await executor.run_task(task_id, timeout_seconds=timeout_seconds, run_id=run_id)
    return str(task.status.value)


@DBOS.workflow(name=REVIEW_WORKFLOW)
async def review_workflow(task_id: str, approve: bool, feedback: str, actor: str) -> str:
    """A person's verdict, and the rework it may start: the durable `Executor.human_review`."""
    executor = _runtime.executor_of(DBOS.workflow_id)
    task = await executor.human_review(task_id, approve=approve, feedback=feedback, actor=actor)
    return str(task.status.value)


def system_database_url(store_url: str, home: Path) -> str:
    """Where DBOS keeps its state: beside the SQLite store, or in the PostgreSQL database."""
    url = normalize_url(store_url)
    if url.startswith("sqlite"):
        system = home / "dbos.sqlite"
        # Asked for just before DBOS opens it: made private first, like the store.
        private_sqlite(str(system))
        return f"sqlite:///{system}"
    return url


def launch(
    taskline: Host,
    *,
    on_event: OnEvent = ignore,
    executor_id: str | None = None,
    worker_concurrency: int | None = None,
) -> None:
    """Start DBOS in this process for `taskline`'s database, once.

    With `worker_concurrency`, the process takes runs from the `taskline-runs`
    queue, that many at a time; otherwise it only runs workflows it starts itself
    and the ones DBOS recovers for its executor id.
    """
    _runtime.host = taskline
    _runtime.on_event = on_event
    url = system_database_url(taskline.store.url, taskline.home)
    if _runtime.system_url == url:
        return
    if _runtime.system_url is not None:
        DBOS.destroy()
    config: dict[str, Any] = {
        "name": APP_NAME,
        "system_database_url": url,
        "application_version": __version__,
        "log_level": "WARNING",
        "max_executor_threads": EXECUTOR_THREADS[sa.make_url(url).get_backend_name()],
    }
    if executor_id is not None:
        config["executor_id"] = executor_id
    if url.startswith("sqlite"):
        config["system_database_engine"] = _sqlite_engine(url)
    logging.getLogger("dbos").addFilter(one_line_for_known_faults)  # once: a set
    try:
        DBOS(config=config)  # type: ignore[arg-type]
        if worker_concurrency is None:
            DBOS.listen_queues([INTERNAL_QUEUE])
        DBOS.launch()
    except Exception as exc:  # DBOS's own errors (database unreachable, no rights) at the edge
        DBOS.destroy()
        where = sa.make_url(url).render_as_string(hide_password=True)
        reason = without_password(str(exc), url)
        raise StoreError(f"cannot start durable execution on {where}: {reason}") from exc
    if worker_concurrency is None:
        _fail_fast_on_lost_connections()
    if worker_concurrency is not None:
        # The queue's settings live in the system database: the last worker to start
        # sets the per-worker concurrency for all.
        DBOS.register_queue(
            RUN_QUEUE,
            worker_concurrency=worker_concurrency,
            polling_interval_sec=QUEUE_POLL_SECONDS,
            on_conflict="always_update",
        )
    _runtime.system_url = url


def _fail_fast_on_lost_connections() -> None:
    """In a foreground process, a lost database connection ends the command instead of
    blocking it: DBOS's default waits and retries without end (right for a worker that
    outlives a database restart; a person at a terminal gets no answer). The run stays
    resumable: its last checkpoint stands, and `taskline task run` resumes it.

    DBOS has this switch for its client (`retry_connection_errors=False`) but not in its
    config, hence the attribute of its system database."""
    system_database = dbos_internals._get_dbos_instance()._sys_db
    system_database._retry_connection_errors = False


def _sqlite_engine(url: str) -> sa.Engine:
    """DBOS's SQLite engine in WAL mode with NORMAL sync: a checkpoint survives a killed
    process (what durability here is for) at about half the cost of a full fsync."""
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    return engine


def shutdown() -> None:
    """Stop DBOS in this process; unfinished runs stay resumable."""
    if _runtime.system_url is not None:
        DBOS.destroy()
        _runtime.system_url = None


async def run_in_foreground(
    taskline: Host, task_id: str, *, timeout_seconds: float | None, on_event: OnEvent
) -> Task:
    """Run a task as a workflow in this process and wait for it.

    A task whose last run was interrupted (its process died) is resumed instead,
    from the run's last finished step: DBOS recovers the unfinished workflows of
    this machine when it launches, and this process waits for them.
    """
    with _checkpoint_faults(taskline, task_id):
        return await _run_in_foreground(taskline, task_id, timeout_seconds, on_event)


@contextmanager
def _checkpoint_faults(taskline: Host, task_id: str) -> Iterator[None]:
    """DBOS's own database failing (full, read-only, gone) as one `StoreError`: the
    workflow's last checkpoint stands, so the next run of the task resumes it."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        url = system_database_url(taskline.store.url, taskline.home)
        where = sa.make_url(url).render_as_string(hide_password=True)
        reason = without_password(first_line(exc.orig), url)
        raise StoreError(
            f"database {where} failed: {reason}; task {task_id} was left as it was:"
            f" run `taskline task run {task_id}` again once the database can be written"
        ) from exc


async def _run_in_foreground(
    taskline: Host, task_id: str, timeout_seconds: float | None, on_event: OnEvent
) -> Task:
    launch(taskline, on_event=on_event)
    unfinished = await _unfinished(task_id)
    if unfinished:
        for workflow_id in unfinished:
            handle: WorkflowHandleAsync[Any] = await DBOS.retrieve_workflow_async(workflow_id)
            await handle.get_result()
        return await asyncio.to_thread(taskline.store.get_task, task_id)
    # Checked here, once, not in the workflow: a refusal there would be kept (and logged
    # with its traceback) as a failed workflow. No workflow of the task is unfinished, so
    # no process runs it: a task its last run left IN_PROGRESS (its end could not be
    # written) is retried.
    executor = _runtime.executor()
    await asyncio.to_thread(executor.check_runnable, task_id, nobody_runs_it=True)
    workflow_id = f"run-{task_id}-{new_id()}"
    # Until the run ends: DBOS starts the workflow's body after `start_workflow_async`.
    with _runtime.preparing(workflow_id, executor):
        with SetWorkflowID(workflow_id):
            handle = await DBOS.start_workflow_async(run_task_workflow, task_id, timeout_seconds)
        await handle.get_result()
    return await asyncio.to_thread(taskline.store.get_task, task_id)


async def review_in_foreground(
    taskline: Host, task_id: str, *, approve: bool, feedback: str, on_event: OnEvent
) -> Task:
    """Record a person's verdict (and run any rework) as a workflow in this process."""
    launch(taskline, on_event=on_event)
    # Checked before the workflow, for the reason `_run_in_foreground` gives.
    executor = _runtime.executor()
    await asyncio.to_thread(executor.check_reviewable, task_id)
    workflow_id = f"review-{task_id}-{new_id()}"
    with (
        _checkpoint_faults(taskline, task_id),
        _runtime.preparing(workflow_id, executor),
        SetWorkflowID(workflow_id),
    ):
        handle = await DBOS.start_workflow_async(
            review_workflow, task_id, approve, feedback, taskline.actor
        )
        await handle.get_result()
    return await asyncio.to_thread(taskline.store.get_task, task_id)


class Enqueuer:
    """Puts runs on the workers' queue, through one DBOS client for all of them."""

    def __init__(self, taskline: Host) -> None:
        url = system_database_url(taskline.store.url, taskline.home)
        with _queue_faults(url):
            DBOS.migrate(url)  # the queue may be used before any worker ever started
            self._client = DBOSClient(system_database_url=url, application_name=APP_NAME)

    def enqueue(self, task_id: str, *, timeout_seconds: float | None) -> str:
        """Queue a run of the task; returns the workflow id."""
        workflow_id = f"run-{task_id}-{new_id()}"
        options: EnqueueOptions = {
            "queue_name": RUN_QUEUE,
            "workflow_name": RUN_WORKFLOW,
            "workflow_id": workflow_id,
            "app_version": __version__,
        }
        self._client.enqueue(options, task_id, timeout_seconds)
        return workflow_id

    def close(self) -> None:
        """Release the client's connections."""
        self._client.destroy()


class QueueDepth:
    """How many runs wait on the queue, read without writing to DBOS's database: a scrape
    must not create its tables (as `Enqueuer` does) nor take a lock a worker's DBOS waits
    for as it launches, and must fail at once, not wait, when the database is gone."""

    def __init__(self, taskline: Host) -> None:
        self._url = system_database_url(taskline.store.url, taskline.home)
        self._engine = sa.create_engine(self._url)
        self._schema = None if self._engine.dialect.name == "sqlite" else SYSTEM_SCHEMA
        self._client = DBOSClient(
            system_database_engine=self._engine,
            dbos_system_schema=SYSTEM_SCHEMA,
            application_name=APP_NAME,
            lazy=True,
            retry_connection_errors=False,
        )

    def read(self) -> int:
        """Runs on the queue that no worker has taken yet."""
        with _queue_faults(self._url):
            # DBOS's documented table of workflows; none yet when nothing was ever queued
            # and no worker ever started.
            if not sa.inspect(self._engine).has_table("workflow_status", schema=self._schema):
                return 0
            waiting = self._client.list_queued_workflows(
                queue_name=RUN_QUEUE, status="ENQUEUED", load_input=False, load_output=False
            )
        return len(waiting)

    def close(self) -> None:
        """Release the connections."""
        self._client.destroy()
        self._engine.dispose()


@contextmanager
def _queue_faults(url: str) -> Iterator[None]:
    """The run queue's database failing (unreachable, no rights) as one `StoreError`."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        where = sa.make_url(url).render_as_string(hide_password=True)
        reason = without_password(first_line(exc.orig), url)
        raise StoreError(f"cannot reach the run queue in {where}: {reason}") from exc


def serve(
    taskline: Host,
    *,
    worker_id: str,
    concurrency: int,
    heartbeat_timeout_seconds: float = DEFAULT_HEARTBEAT_TIMEOUT_SECONDS,
    on_event: OnEvent = ignore,
    stop: threading.Event | None = None,
) -> None:
    """Be a worker until SIGTERM or SIGINT (or `stop`): take queued runs, beat, adopt.

    On launch DBOS resumes this worker's own unfinished runs (a restart under the same
    id). Every third of `heartbeat_timeout_seconds` the worker records that it is alive
    and adopts the runs of any worker silent for longer than the timeout. Stopping lets
    the steps in flight finish, starts no new one, and leaves the runs resumable. Before
    its first beat it imports the provider SDKs its agents' models call, so that no run
    pays for the imports (`load_adapters`).
    """
    stop = stop or threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    load_adapters(
        [agent.model for agent in taskline.store.list_agents()], taskline.executor().endpoints
    )
    taskline.store.heartbeat(worker_id)
    launch(taskline, on_event=on_event, executor_id=worker_id, worker_concurrency=concurrency)
    interval = heartbeat_timeout_seconds / 3
    while not stop.wait(interval):
        taskline.store.heartbeat(worker_id)
        silent_since = utcnow() - timedelta(seconds=heartbeat_timeout_seconds)
        for silent in taskline.store.claim_silent_workers(worker_id, silent_since):
            DBOS._recover_pending_workflows([silent])
    _gate.stopping.set()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while _gate.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    taskline.store.stop_worker(worker_id)
    # DBOS's threads would wait for runs parked at their next step; the checkpoints are
    # all written, so leave now and let the next worker resume them.
    os._exit(0)


async def _unfinished(task_id: str) -> list[str]:
    """Ids of the task's workflows that were started and have not ended."""
    statuses = await DBOS.list_workflows_async(
        workflow_id_prefix=[f"run-{task_id}-", f"review-{task_id}-"],
        status=["PENDING", "ENQUEUED"],
        load_input=False,
        load_output=False,
    )
    return [status.workflow_id for status in statuses]
