"""Status moves per second from one process, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_moves.py [--tasks 300]

Each task is created (not timed), then moved CREATED -> ASSIGNED -> IN_PROGRESS
-> IN_REVIEW -> COMPLETED through the library, as the CLI and the engine do: a
read, the table check, and one transaction holding the conditional update and
the transition row. Both databases run durably (fsync on), as users run them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from taskline import Status, Taskline
from taskline.store import SqlStore
from taskline.testing.postgres import throwaway_postgres

MOVES = (Status.IN_PROGRESS, Status.IN_REVIEW, Status.COMPLETED)


def moves_per_second(url: str, tasks: int) -> tuple[float, float]:
    """(moves per second, median ms per move) over `tasks` tasks of four moves each."""
    with Taskline(SqlStore.open(url), actor="user:bench") as tl:
        tl.add_agent("bench", model="scripted:none")
        ids = [tl.create_task(f"bench {i}").id for i in range(tasks)]
        timings: list[float] = []
        started = time.perf_counter()
        for task_id in ids:
            start = time.perf_counter()
            tl.assign(task_id, "bench")
            timings.append(time.perf_counter() - start)
            for target in MOVES:
                start = time.perf_counter()
                tl.move(task_id, target)
                timings.append(time.perf_counter() - start)
        elapsed = time.perf_counter() - started
    return len(timings) / elapsed, statistics.median(timings) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        rate, median_ms = moves_per_second(f"sqlite:///{Path(tmp) / 'bench.db'}", args.tasks)
        print(f"sqlite      {rate:8.0f} moves/s   median {median_ms:.2f} ms/move")
    with throwaway_postgres(durable=True) as server:
        rate, median_ms = moves_per_second(server.create_database("bench"), args.tasks)
        print(f"postgresql  {rate:8.0f} moves/s   median {median_ms:.2f} ms/move")


if __name__ == "__main__":
    main()
