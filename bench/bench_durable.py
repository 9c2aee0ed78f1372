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
    submit = ToolCall(id="s", name="submit_work", arguments={"summary": "ok"})
    with ProviderServer(
        latency_ms=latency_ms, default=Reply.tool_calls(submit, usage=Usage(input_tokens=10))
    ) as server:
        config = workdir / "taskline.toml"
        config.write_text(
            f'[endpoints.bench]\nkind = "openai"\nbase_url = "{server.openai_base_url}"\n'
            '[agents.bench]\nmodel = "bench:m"\n'
        )
        env = {**os.environ, "TASKLINE_DATABASE_URL": url, "TASKLINE_CONFIG": str(config),
               "TASKLINE_HOME": str(workdir / "home"), "TASKLINE_DURABLE": "1",
               "OPENAI_API_KEY": "bench"}  # fmt: skip
        for workers in (1, 2, 4):
            with Taskline.open(env=env, durable=True) as tl:
                ids = []
                for _ in range(tasks):
                    task = tl.create_task("throughput")
                    tl.assign(task.id, "bench")
                    ids.append(task.id)
                names = [f"w{workers}-{n}" for n in range(workers)]
                processes = [
                    subprocess.Popen(
                        [SCRIPT, "worker", "--id", name, "--concurrency", "4"],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                    for name in names
                ]
                wait_until_beating(tl, names)  # time runs, not process start-up
                started = time.perf_counter()
                for task_id in ids:
                    tl.enqueue_run(task_id)
                while not set(ids) <= {t.id for t in tl.list_tasks(Status.COMPLETED)}:
                    time.sleep(0.05)
                elapsed = time.perf_counter() - started
                for process in processes:
                    process.send_signal(signal.SIGTERM)
                for process in processes:
                    process.wait(timeout=60)
            print(
                f"postgresql  {workers} worker(s): {tasks} runs in {elapsed:5.1f} s ="
                f" {tasks / elapsed:5.1f} runs/s (model latency {latency_ms:g} ms)"
            )


def wait_until_beating(tl: Taskline, names: list[str]) -> None:
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
