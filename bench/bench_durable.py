"""What durability costs, and what workers add.

    .venv/bin/python bench/bench_durable.py [--tasks 60] [--latency-ms 100]

1. Cost of durability per step: the same 20-turn task (scripted model, one
   read_file per turn) run inline and as a DBOS workflow, on SQLite and on a
   durable PostgreSQL (fsync on). A turn is two steps (the model call and the tool
   call); (durable - inline) / steps is the price of a checkpoint.
2. Throughput: `--tasks` one-call tasks queued with `task run --detach`, taken by
   1, 2 and 4 `taskline worker` processes (concurrency 4 each) on PostgreSQL,
   against the loopback model server answering after `--latency-ms`.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from taskline import Status, Taskline, durable
from taskline.llm.scripted import ScriptedModel, ScriptedResponse
from taskline.llm.types import ToolCall, Usage
from taskline.store import SqlStore
from taskline.store.tables import workers
from taskline.testing.postgres import throwaway_postgres
from taskline.testing.provider_server import ProviderServer, Reply

TURNS = 20
STEPS_PER_TURN = 2  # the model call and the tool call; limit checks and turn rows are not steps
SCRIPT = Path(sys.executable).parent / "taskline"


def script() -> list[ScriptedResponse]:
    reads = [
        ScriptedResponse.model_validate(
            {"tool_calls": [{"name": "read_file", "arguments": {"path": f"n{i}.txt"}}]}
        )
        for i in range(TURNS - 1)
    ]
    return [*reads, ScriptedResponse.model_validate(
        {"tool_calls": [{"name": "submit_work", "arguments": {"summary": "ok"}}]}
    )]  # fmt: skip


def one_run_seconds(tl: Taskline, workdir: Path) -> float:
    workspace = workdir / f"ws-{time.perf_counter_ns()}"
    workspace.mkdir()
    for i in range(TURNS):
        (workspace / f"n{i}.txt").write_text("x\n")
    model = ScriptedModel(script())
    tl.model_factory = lambda _ref: model
    task = tl.create_task("bench", workspace=workspace, max_turns=TURNS + 1)
    tl.assign(task.id, "bench")
    started = time.perf_counter()
    done = tl.run_task(task.id)
    assert done.status is Status.COMPLETED, done.failure_message
    return time.perf_counter() - started


def durability_cost(name: str, url: str, workdir: Path, repeat: int) -> None:
    results = {}
    for is_durable in (False, True):
        with Taskline(SqlStore.open(url), home=workdir, durable=is_durable) as tl:
            if "bench" not in [a.name for a in tl.list_agents()]:
                tl.add_agent("bench", model="bench:x")
            one_run_seconds(tl, workdir)  # warm-up (and DBOS launch)
            results[is_durable] = min(one_run_seconds(tl, workdir) for _ in range(repeat))
    per_step_ms = (results[True] - results[False]) / (TURNS * STEPS_PER_TURN) * 1000
    print(
        f"{name:11s} inline {results[False] * 1000 / TURNS:5.2f} ms/turn,"
        f" durable {results[True] * 1000 / TURNS:5.2f} ms/turn"
        f" -> {per_step_ms:.2f} ms per checkpointed step"
    )
    durable.shutdown()


def throughput(url: str, workdir: Path, tasks: int, latency_ms: float) -> None:
    with loopback_model(workdir, latency_ms) as env:
        env |= {"TASKLINE_DATABASE_URL": url, "TASKLINE_HOME": str(workdir / "home")}
        for workers in (1, 2, 4):
            names = [f"w{workers}-{n}" for n in range(workers)]
            commands = [
                [str(SCRIPT), "worker", "--id", name, "--concurrency", "4"] for name in names
            ]
            elapsed = seconds_to_run(env, tasks, commands, names).seconds
            print(
                f"postgresql  {workers} worker(s): {tasks} runs in {elapsed:5.1f} s ="
                f" {tasks / elapsed:5.1f} runs/s (model latency {latency_ms:g} ms)"
            )


@contextmanager
def loopback_model(workdir: Path, latency_ms: float) -> Iterator[dict[str, str]]:
    """The environment of workers whose agent `bench` calls the loopback model server, which
    answers every call with submit_work after `latency_ms`: a one-call run. Add the
    database's URL and a home."""
    submit = ToolCall(id="s", name="submit_work", arguments={"summary": "ok"})
    with ProviderServer(
        latency_ms=latency_ms, default=Reply.tool_calls(submit, usage=Usage(input_tokens=10))
    ) as server:
        config = workdir / "taskline.toml"
        config.write_text(
            f'[endpoints.bench]\nkind = "openai"\nbase_url = "{server.openai_base_url}"\n'
            '[agents.bench]\nmodel = "bench:m"\n'
        )
        yield {**os.environ, "TASKLINE_CONFIG": str(config), "TASKLINE_DURABLE": "1",
               "OPENAI_API_KEY": "bench"}  # fmt: skip


@dataclass(frozen=True)
class Timed:
    """How long the queued runs took, and the CPU the worker processes spent meanwhile."""

    seconds: float
    """Wall-clock time from queueing the first run until the last one was COMPLETED."""
    worker_cpu_seconds: float
    """User and system CPU time of the worker processes (and their children) in that time."""


def seconds_to_run(
    env: Mapping[str, str], tasks: int, commands: Sequence[Sequence[str]], names: Sequence[str]
) -> Timed:
    """Time `tasks` runs of agent `bench`, queued at once and taken by the workers `commands`
    start. The clock starts once the workers `names` beat and a first run queued and done
    (DBOS's client made, one worker warmed up), so that it times runs, not start-up; the
    workers get SIGTERM at the end."""
    with Taskline.open(env=env, durable=True) as tl:
        warm_up, *ids = (new_bench_task(tl) for _ in range(tasks + 1))
        processes = [
            subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for command in commands
        ]
        wait_until_beating(tl, names)
        tl.enqueue_run(warm_up)
        wait_until_completed(tl, [warm_up])
        cpu_before = tree_cpu_seconds([p.pid for p in processes])
        started = time.perf_counter()
        for task_id in ids:
            tl.enqueue_run(task_id)
        wait_until_completed(tl, ids)
        elapsed = time.perf_counter() - started
        cpu = tree_cpu_seconds([p.pid for p in processes]) - cpu_before
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
    return Timed(elapsed, cpu)


def new_bench_task(tl: Taskline) -> str:
    task = tl.create_task("throughput")
    tl.assign(task.id, "bench")
    return task.id


def wait_until_completed(tl: Taskline, ids: Sequence[str]) -> None:
    # One light query a poll: the driver shares the machine with the workers it times
    # (loading every completed task 20 times a second took a fifth of a core).
    while set(tl.store.statuses_of(ids).values()) != {Status.COMPLETED}:
        time.sleep(0.05)


def tree_cpu_seconds(pids: Sequence[int]) -> float:
    """User and system CPU seconds of the live processes `pids` and their descendants
    (Linux's /proc)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone while we looked
                continue
            parents[int(entry.name)] = int(fields[1])
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    tree = set(pids)
    while grown := {pid for pid, parent in parents.items() if parent in tree} - tree:
        tree |= grown
    return sum(cpu.get(pid, 0.0) for pid in tree)


def wait_until_beating(tl: Taskline, names: Sequence[str]) -> None:
    store = tl.store
    assert isinstance(store, SqlStore)
    while True:
        with store.engine.connect() as conn:
            alive = set(conn.execute(select(workers.c.id)).scalars())
        if alive >= set(names):
            return
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        durability_cost("sqlite", f"sqlite:///{workdir / 'bench.db'}", workdir, args.repeat)
        with throwaway_postgres(durable=True) as server:
            durability_cost("postgresql", server.create_database("steps"), workdir, args.repeat)
            throughput(server.create_database("workers"), workdir, args.tasks, args.latency_ms)


if __name__ == "__main__":
    main()
