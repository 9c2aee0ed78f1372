"""Requests per second and latency of the API's task list and metrics endpoints, on a store
holding 10,000 tasks and 100,000 cost records, on SQLite and on PostgreSQL (durable).

    .venv/bin/python bench/bench_api.py [--tasks 10000] [--cost-records 100000]
        [--concurrency 4] [--max-requests 200] [--max-seconds 15]

The store is filled with bulk inserts (not timed): every task with its creation
transition; 80% of them finished, each with one run, stored metrics and an even
share of the cost records. `taskline serve`'s app then runs in its own process
on 127.0.0.1, and this process sends the requests over loopback from
`--concurrency` threads with keep-alive connections, each endpoint until
`--max-requests` answers or `--max-seconds`, whichever comes first. Each line
ends with the 1-minute load average when the endpoint was done: other work on
the machine skews the figures. Then `taskline metrics`: the report it computes,
called in this process the same way, and the whole command as a process.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Table, insert

from taskline import Task
from taskline.lifecycle import Status
from taskline.models import utcnow
from taskline.records import CostRecord, Run, TaskMetrics
from taskline.store import SqlStore
from taskline.store.tables import agents, cost_records, runs, task_metrics, tasks, transitions
from taskline.testing.ports import free_port
from taskline.testing.postgres import throwaway_postgres

TOKEN = "bench-token"
AGENTS = ("coder", "writer", "tester", "reviewer")
MODELS = ("openai:gpt-4o-mini", "anthropic:claude-haiku", "local:smollm2")
ENDPOINTS = (
    "/api/tasks",  # the first page: 100 tasks
    "/api/tasks?limit=1000",
    "/api/tasks?status=IN_PROGRESS",
    "/api/tasks?order=newest&limit=100",
    "/api/tasks?offset=9900",
    "/api/metrics",
    "/api/metrics/tasks",  # the first page: 100 tasks
    "/api/metrics/tasks?order=newest&limit=1000",  # what the dashboard charts
)
BATCH = 5000


# -- the store ------------------------------------------------------------------


def _insert(store: SqlStore, table: Table, rows: list[dict[str, Any]]) -> None:
    with store.engine.begin() as conn:
        for start in range(0, len(rows), BATCH):
            conn.execute(insert(table), rows[start : start + BATCH])


def fill(url: str, task_count: int, record_count: int) -> None:
    """Bulk-insert agents, tasks, runs, metrics and cost records, as the store writes them."""
    store = SqlStore.open(url)
    now = utcnow()
    _insert(
        store,
        agents,
        [
            {"name": name, "model": MODELS[i % len(MODELS)], "role": "", "instructions": "",
             "skills": [], "tools": None, "budget_usd": None, "created_at": now}
            for i, name in enumerate(AGENTS)
        ],
    )  # fmt: skip
    finished = int(task_count * 0.8)
    statuses = (Status.CREATED, Status.ASSIGNED, Status.IN_PROGRESS, Status.IN_REVIEW)
    task_rows: list[dict[str, Any]] = []
    transition_rows: list[dict[str, Any]] = []
    run_rows: list[dict[str, Any]] = []
    metric_rows: list[dict[str, Any]] = []
    cost_rows: list[dict[str, Any]] = []
    per_task = math.ceil(record_count / finished)
    for n in range(task_count):
        agent = AGENTS[n % len(AGENTS)]
        model = MODELS[n % len(MODELS)]
        status = (Status.COMPLETED if n % 5 else Status.FAILED) if n < finished else statuses[n % 4]
        task = Task(title=f"Task {n}", description="Benchmark task " * 10, status=Status.CREATED)
        row = task.model_dump(exclude={"dependencies"})
        row.update(status=status.value, assignee=None if status is Status.CREATED else agent)
        task_rows.append(row)
        transition_rows.append(
            {"task_id": task.id, "seq": 1, "from_status": None, "to_status": "CREATED",
             "at": task.created_at, "actor": "user:bench", "reason": ""}
        )  # fmt: skip
        if n >= finished:
            continue
        run = Run(task_id=task.id, number=1, trigger="first", agent=agent, model=model,
                  status="submitted", ended_at=now)  # fmt: skip
        run_rows.append(run.model_dump())
        turns = min(per_task, record_count - len(cost_rows))
        cost = Decimal("0.0004") * (1 + n % 7)
        for turn in range(1, turns + 1):
            cost_rows.append(
                CostRecord(
                    task_id=task.id, run_id=run.id, turn=turn, agent=agent, provider="bench",
                    model=model, input_tokens=900 + n % 300, output_tokens=80, cost_usd=cost,
                    price_source="config", latency_ms=350.0, finish_reason="tool_calls",
                ).model_dump()
            )  # fmt: skip
        metric_rows.append(
            TaskMetrics(
                task_id=task.id, turns_per_task=turns, tokens_per_task=turns * 1000,
                input_tokens=turns * 920, output_tokens=turns * 80, cost_per_task=cost * turns,
                unpriced_calls=0, duration_seconds=2.5 * turns, tool_calls=turns, runs=1,
                updated_at=now - timedelta(minutes=finished - n),
            ).model_dump() | {"last_agent": agent, "last_model": model}  # of its one run
        )  # fmt: skip
    for table, rows in (
        (tasks, task_rows), (transitions, transition_rows), (runs, run_rows),
        (task_metrics, metric_rows), (cost_records, cost_rows),
    ):  # fmt: skip
        _insert(store, table, rows)
    if store.engine.dialect.name == "postgresql":
        # What autovacuum does within a minute or so of a bulk load: without it, the order
        # of the endpoints would decide which run against a table without statistics.
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    store.close()
    print(f"  filled: {len(task_rows):,} tasks, {len(cost_rows):,} cost records,"
          f" {len(metric_rows):,} with metrics")  # fmt: skip


# -- the server, in its own process ---------------------------------------------


def serve(url: str, port: int, home: str) -> None:
    """Run the API on 127.0.0.1:`port` (the server process's entry point)."""
    import uvicorn

    from taskline import Taskline
    from taskline.api import create_app

    tl = Taskline(SqlStore.open(url), home=Path(home), actor="user:bench")
    app = create_app(tl, token=TOKEN)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def server(url: str, home: Path) -> Iterator[str]:
    """The API in a second process; yields its base URL and stops it at the end."""
    port = free_port()
    process = subprocess.Popen([sys.executable, __file__, "serve", url, str(port), str(home)])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/health", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the API server did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


# -- the load -------------------------------------------------------------------


@dataclass
class Result:
    """What one endpoint did under load."""

    requests: int
    seconds: float
    latencies_ms: list[float]
    response_bytes: int

    def line(self, path: str) -> str:
        ordered = sorted(self.latencies_ms)
        p50 = ordered[len(ordered) // 2]
        p99 = ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]
        return (
            f"  {path:44} {self.requests / self.seconds:8.1f} req/s   p50 {p50:8.1f} ms"
            f"   p99 {p99:8.1f} ms   ({self.requests} requests, {self.response_bytes:,} B each)"
            f"   load {os.getloadavg()[0]:.2f}"
        )


def load(base: str, path: str, concurrency: int, max_requests: int, max_seconds: float) -> Result:
    """Send GET `path` from `concurrency` threads until `max_requests` or `max_seconds`."""
    latencies: list[float] = []
    sizes: list[int] = []
    issued = 0
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        nonlocal issued
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
            while time.monotonic() < deadline:
                with lock:
                    if issued >= max_requests:
                        return
                    issued += 1
                start = time.perf_counter()
                response = client.get(path)
                elapsed_ms = (time.perf_counter() - start) * 1000
                response.raise_for_status()
                with lock:
                    latencies.append(elapsed_ms)
                    sizes.append(len(response.content))

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result(len(latencies), time.perf_counter() - started, latencies, max(sizes, default=0))


# -- `taskline metrics` ------------------------------------------------------------


def metrics_command(url: str, home: Path, args: argparse.Namespace) -> None:
    """`taskline metrics`: the report it computes, in this process (calls per second, as
    for an endpoint, from one thread); then the whole command as a process, start-up
    included, against `taskline --help`, which starts up and does nothing else."""
    from taskline import Taskline

    with Taskline(SqlStore.open(url), home=home, actor="user:bench") as tl:
        tl.metrics_report()  # warm up
        latencies: list[float] = []
        deadline = time.monotonic() + args.max_seconds
        started = time.perf_counter()
        while len(latencies) < args.max_requests and time.monotonic() < deadline:
            start = time.perf_counter()
            report = tl.metrics_report()
            latencies.append((time.perf_counter() - start) * 1000)
        took = time.perf_counter() - started
    size = len(json.dumps(report, separators=(",", ":")))  # as the API sends it
    print(Result(len(latencies), took, latencies, size).line("taskline metrics (in process)"))
    env = {**os.environ, "TASKLINE_DATABASE_URL": url, "TASKLINE_HOME": str(home)}
    command = Path(sys.executable).parent / "taskline"
    for label, argv in (("--help", ["--help"]), ("metrics --json", ["metrics", "--json"])):
        seconds = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([command, *argv], env=env, check=True, stdout=subprocess.DEVNULL)
            seconds.append(time.perf_counter() - start)
        print(f"  {'taskline ' + label + ' (a process)':44} {statistics.median(seconds):8.3f} s"
              f" per call, median of 5   load {os.getloadavg()[0]:.2f}")  # fmt: skip


def bench(name: str, url: str, args: argparse.Namespace) -> None:
    print(f"{name}")
    fill(url, args.tasks, args.cost_records)
    with tempfile.TemporaryDirectory() as home, server(url, Path(home)) as base:
        for path in ENDPOINTS:
            load(base, path, 1, 1, args.max_seconds)  # warm up: connections, caches
            result = load(base, path, args.concurrency, args.max_requests, args.max_seconds)
            print(result.line(path), flush=True)
    with tempfile.TemporaryDirectory() as home:
        metrics_command(url, Path(home), args)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--cost-records", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-requests", type=int, default=200)
    parser.add_argument("--max-seconds", type=float, default=15.0)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()

    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            bench("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if args.backend in ("postgresql", "both"):
        with throwaway_postgres(durable=True) as pg:
            bench("postgresql (durable)", pg.create_database("bench"), args)


if __name__ == "__main__":
    main()
