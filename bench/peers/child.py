"""One framework in one process: measure, print one JSON line, exit (for ru_maxrss).

    python -m bench.peers.child overhead FRAMEWORK BASE_URL --turns 20 --repeat 15
    python -m bench.peers.child concurrency FRAMEWORK BASE_URL --turns 10 --tasks 1000

overhead     conversations one after another; per conversation, framework ms
             per turn = (wall ms - server ms) / turns, server ms read from the
             server's /stats before and after (latency included).
concurrency  `--tasks` conversations started at once (asyncio.gather; threads
             for smolagents, taskline's durable workflows in one DBOS process);
             wall time, and (peak RSS - RSS before) / tasks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.peers.frameworks import PEERS, write_notes

WARMUP = 2
# NAME@before: the same, run by bench.peers.run with an older taskline first on PYTHONPATH
TASKLINES = [
    "taskline",
    "taskline-postgres",
    "taskline-inline",  # no DBOS: what the checkpoints cost, by difference
    "taskline@before",
    "taskline-postgres@before",
]


def server_ms(base_url: str) -> float:
    root = base_url.removesuffix("/v1")
    with urllib.request.urlopen(f"{root}/stats") as response:
        return float(json.load(response)["server_ms"])


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


# -- taskline ------------------------------------------------------------------


class TasklineBench:
    """taskline as a user runs it: durable runs (DBOS) on the default store (SQLite),
    or on PostgreSQL (`taskline-postgres`: the server's memory is not in this process's RSS).
    `durable=False` (`taskline-inline`) is the same store without DBOS checkpoints."""

    def __init__(
        self,
        base_url: str,
        turns: int,
        workspace: Path,
        home: Path,
        url: str | None = None,
        *,
        durable: bool = True,
    ) -> None:
        from taskline import Taskline
        from taskline.config import Config
        from taskline.llm.registry import EndpointConfig

        config = Config(endpoints={"bench": EndpointConfig(kind="openai", base_url=base_url)})
        self.tl = Taskline.open(home=home, url=url, config=config, env={}, durable=durable)
        self.tl.add_agent("bench", model=f"bench:bench-{turns}-submit")
        self.turns = turns
        self.workspace = workspace

    def new_task(self) -> str:
        task = self.tl.create_task("bench", workspace=self.workspace, max_turns=self.turns + 1)
        self.tl.assign(task.id, "bench")
        return task.id

    def run(self, task_id: str) -> None:
        done = self.tl.run_task(task_id)
        assert done.status.value == "COMPLETED", (done.status, done.failure_message)

    async def run_many(self, task_ids: list[str]) -> None:
        run = getattr(self.tl, "run_task_async", None) or self._run_as_before
        done = await asyncio.gather(*(run(t) for t in task_ids))
        failed = [t for t in done if t.status.value != "COMPLETED"]
        assert not failed, (len(failed), failed[0].status, failed[0].failure_message)

    async def _run_as_before(self, task_id: str) -> Any:
        """A run as taskline before `Taskline.run_task_async` (the `@before` rows)."""
        from taskline import durable

        if self.tl.durable:
            durable.launch(self.tl)
            return await durable.run_in_foreground(
                self.tl, task_id, timeout_seconds=None, on_event=lambda _event: None
            )
        return await self.tl.executor().run_task(task_id)


# -- the two measurements ---------------------------------------------------------


@contextmanager
def database(framework: str) -> Iterator[str | None]:
    """None (taskline's default, SQLite) or a throwaway durable PostgreSQL's URL."""
    if not framework.startswith("taskline-postgres"):
        yield None
        return
    from taskline.testing.postgres import throwaway_postgres

    with throwaway_postgres(durable=True) as server:
        yield server.create_database("bench")


def overhead(
    framework: str, base_url: str, turns: int, repeat: int, tmp: Path, url: str | None
) -> dict[str, object]:
    workspace = tmp / "ws"
    write_notes(workspace, turns)
    # prepare() is untimed (a taskline task is created and assigned); one(prepared) is timed.
    prepare: Callable[[], Any]
    one: Callable[[Any], None]
    if framework.startswith("taskline"):
        bench = TasklineBench(
            base_url, turns, workspace, tmp / "home", url, durable=framework != "taskline-inline"
        )
        prepare, one = bench.new_task, bench.run
    else:
        loop = asyncio.new_event_loop()
        run = PEERS[framework](base_url, turns, workspace)
        prepare, one = run, loop.run_until_complete
    samples, server_samples = [], []
    for i in range(WARMUP + repeat):
        prepared: Any = prepare()
        before = server_ms(base_url)
        started = time.perf_counter()
        one(prepared)
        wall_ms = (time.perf_counter() - started) * 1000
        spent = server_ms(base_url) - before
        if i >= WARMUP:
            samples.append((wall_ms - spent) / turns)
            server_samples.append(spent / turns)
    return {
        "framework": framework,
        "turns": turns,
        "framework_ms_per_turn": samples,
        "server_ms_per_turn": server_samples,
        "peak_rss_kb": peak_rss_kb(),
    }


def concurrency(
    framework: str, base_url: str, turns: int, tasks: int, tmp: Path, url: str | None
) -> dict[str, object]:
    workspace = tmp / "ws"
    write_notes(workspace, turns)
    loop = asyncio.new_event_loop()
    many: Callable[[], Awaitable[None]]
    if framework.startswith("taskline"):
        bench = TasklineBench(
            base_url, turns, workspace, tmp / "home", url, durable=framework != "taskline-inline"
        )
        bench.run(bench.new_task())  # warm-up, outside the measurement
        ids = [bench.new_task() for _ in range(tasks)]
        many = lambda: bench.run_many(ids)  # noqa: E731
    else:
        if framework == "smolagents":  # sync only: one thread per conversation in flight
            loop.set_default_executor(ThreadPoolExecutor(max_workers=tasks))
        run = PEERS[framework](base_url, turns, workspace)
        loop.run_until_complete(run())  # warm-up

        async def many() -> None:
            await asyncio.gather(*(run() for _ in range(tasks)))

    rss_before = rss_kb()
    started = time.perf_counter()
    loop.run_until_complete(many())
    wall_seconds = time.perf_counter() - started
    peak = peak_rss_kb()
    return {
        "framework": framework,
        "turns": turns,
        "tasks": tasks,
        "wall_seconds": wall_seconds,
        "rss_before_kb": rss_before,
        "peak_rss_kb": peak,
        "kb_per_task": (peak - rss_before) / tasks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["overhead", "concurrency"])
    parser.add_argument("framework", choices=[*TASKLINES, *PEERS])
    parser.add_argument("base_url")
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--tasks", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database(args.framework) as url:
        if args.mode == "overhead":
            result = overhead(
                args.framework, args.base_url, args.turns, args.repeat, Path(tmp), url
            )
        else:
            result = concurrency(
                args.framework, args.base_url, args.turns, args.tasks, Path(tmp), url
            )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
