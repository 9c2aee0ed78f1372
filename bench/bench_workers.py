"""Runs per second of `taskline worker --processes 1` against `--processes 2`, on one machine.

    .venv/bin/python -m bench.bench_workers [--tasks 300] [--latency-ms 20] [--concurrency 4]
                                            [--rounds 3] [--backends postgresql,sqlite]

Issue 14 point 4 asks two processes to run short runs at least 1.6 times as fast as
one. `--tasks` one-call tasks (the loopback model server answers submit_work after
`--latency-ms`) are queued as `taskline task run --detach` queues them, once every
process of `taskline worker --processes N --concurrency C` beats, and the clock stops
when all are COMPLETED (`seconds_to_run` of bench/bench_durable.py). Each round runs
one, then two processes, each time on a fresh database: on a durable PostgreSQL (fsync
on) and on SQLite. It prints every measurement with the CPU the worker processes used
(ms per run, and cores: CPU seconds per second), then the medians, their ratio and the
load average, which says how much of the machine the other work on it took.

300 runs, not 100: two processes ran 100 in about 3 s, and rounds of one run measured
ratios from 1.18 to 1.52 on a two-core VM; 300 took 1.58-1.80.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.bench_durable import SCRIPT, Timed, loopback_model, seconds_to_run
from taskline.supervisor import child_ids
from taskline.testing.postgres import throwaway_postgres

PROCESSES = (1, 2)


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def measure(
    env: dict[str, str], url: str, home: Path, worker: str, processes: int, args: argparse.Namespace
) -> Timed:
    """`args.tasks` runs taken by `taskline worker --processes N`."""
    command = [str(SCRIPT), "worker", "--id", worker, "--processes", str(processes),
               "--concurrency", str(args.concurrency)]  # fmt: skip
    names = child_ids(worker, processes) if processes > 1 else [worker]
    env = {**env, "TASKLINE_DATABASE_URL": url, "TASKLINE_HOME": str(home)}
    return seconds_to_run(env, args.tasks, [command], names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="postgresql,sqlite")
    args = parser.parse_args()
    backends = args.backends.split(",")
    results: dict[tuple[str, int], list[Timed]] = {(b, n): [] for b in backends for n in PROCESSES}
    print(f"load average before: {load_average()}")
    with (
        tempfile.TemporaryDirectory() as tmp,
        loopback_model(Path(tmp), args.latency_ms) as env,
        throwaway_postgres(durable=True) as server,
    ):
        workdir = Path(tmp)
        databases: dict[str, Callable[[str], str]] = {
            "postgresql": server.create_database,
            "sqlite": lambda name: f"sqlite:///{workdir / name}.db",
        }
        for round_number in range(1, args.rounds + 1):
            for backend in backends:
                for processes in PROCESSES:
                    name = f"{backend}-{round_number}-{processes}"
                    timed = measure(
                        env, databases[backend](name.replace("-", "_")), workdir / name,
                        f"bench-{round_number}", processes, args,
                    )  # fmt: skip
                    results[backend, processes].append(timed)
                    print(
                        f"round {round_number}  {backend:10s}  --processes {processes}:"
                        f" {args.tasks / timed.seconds:6.1f} runs/s,"
                        f" workers' CPU {timed.worker_cpu_seconds / args.tasks * 1000:5.1f} ms/run"
                        f" = {timed.worker_cpu_seconds / timed.seconds:4.2f} cores"
                        f"   (load average {load_average()})"
                    )
    print(
        f"\n{args.tasks} one-call runs, model latency {args.latency_ms:g} ms,"
        f" --concurrency {args.concurrency}, median of {args.rounds} rounds:"
    )
    for backend in backends:
        one, two = (
            statistics.median(args.tasks / t.seconds for t in results[backend, n])
            for n in PROCESSES
        )
        cores = [
            statistics.median(t.worker_cpu_seconds / t.seconds for t in results[backend, n])
            for n in PROCESSES
        ]
        print(
            f"{backend:10s}  1 process {one:6.1f} runs/s ({cores[0]:4.2f} cores)"
            f"   2 processes {two:6.1f} runs/s ({cores[1]:4.2f} cores)   ratio {two / one:4.2f}"
        )
    print(f"load average after: {load_average()} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
