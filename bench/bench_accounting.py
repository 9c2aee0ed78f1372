"""What accounting for every billed call costs per turn, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_accounting.py [--turns 300] [--rounds 5]

A turn's store writes, as the engine makes them, two ways:

    accounted  the turn, its tool call and the next call's intent (a pending cost
               record) in one transaction; then, once the model answered, the
               answer's UPDATE of that record in a transaction of its own
    unaccounted  the turn, its tool call and the next call's finished cost record
               in one transaction: what recording a call only once it answered
               would write (a crash between the call and that write loses the call)

The difference is the price of point 2 of issue 14 (every billed call accounted
for, even across a crash). Both databases run durably (fsync on, as users run them:
PostgreSQL with `throwaway_postgres(durable=True)`, SQLite in WAL with synchronous
NORMAL). Medians over `--rounds` rounds of `--turns` turns each.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from taskline import Status, Taskline
from taskline.records import CostRecord, Run, ToolCallRecord, Turn
from taskline.store import SqlStore
from taskline.testing.postgres import throwaway_postgres

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def _run(tl: Taskline) -> Run:
    task = tl.create_task("bench")
    tl.assign(task.id, "bench")
    tl.move(task.id, Status.IN_PROGRESS)
    run = Run(task_id=task.id, number=1, trigger="first", agent="bench", model="scripted:none")
    return tl.store.start_run(run)


def _intent(run: Run, turn: int) -> CostRecord:
    return CostRecord(
        task_id=run.task_id, run_id=run.id, turn=turn, agent="bench", provider="openai",
        model="gpt-4o-mini", input_tokens=0, output_tokens=0, cost_usd=None,
        price_source="unknown", latency_ms=0, finish_reason="pending", state="pending",
    )  # fmt: skip


def _answer(intent: CostRecord) -> CostRecord:
    return intent.model_copy(
        update={
            "input_tokens": 500,
            "output_tokens": 20,
            "cost_usd": Decimal("0.0000870"),
            "price_source": "genai-prices",
            "latency_ms": 200.0,
            "finish_reason": "tool_calls",
            "state": "answered",
            "response": {"text": "", "tool_calls": [{"id": "c1", "name": "read_file"}]},
        }  # fmt: skip
    )


def _turn_records(run: Run, turn: int) -> tuple[Turn, list[ToolCallRecord]]:
    record = Turn(run_id=run.id, number=turn, text="", finish_reason="tool_calls",
                  started_at=NOW, ended_at=NOW)  # fmt: skip
    call = ToolCallRecord(
        run_id=run.id, turn=turn, index=0, call_id=f"c{turn}", name="read_file",
        arguments={"path": f"notes-{turn}.txt"}, output="NOTE " * 40, is_error=False,
        duration_ms=0.4,
    )  # fmt: skip
    return record, [call]


def accounted(store: SqlStore, run: Run, turn: int) -> None:
    record, calls = _turn_records(run, turn)
    intent = _intent(run, turn + 1)
    store.add_turn(record, calls, intent)
    store.record_answer(_answer(intent))


def unaccounted(store: SqlStore, run: Run, turn: int) -> None:
    record, calls = _turn_records(run, turn)
    store.add_turn(record, calls, _answer(_intent(run, turn + 1)))


def ms_per_turn(url: str, turns: int, rounds: int) -> tuple[float, float]:
    """Median ms per turn (accounted, unaccounted), the two taking turns round by round so
    that a machine busier in one stretch weighs on both alike."""
    medians: dict[str, list[float]] = {"accounted": [], "unaccounted": []}
    ways = {"accounted": accounted, "unaccounted": unaccounted}
    with Taskline(SqlStore.open(url), actor="user:bench") as tl:
        tl.add_agent("bench", model="scripted:none")
        assert isinstance(tl.store, SqlStore)
        for _ in range(rounds):
            for name, write in ways.items():
                run = _run(tl)
                timings = []
                for turn in range(1, turns + 1):
                    started = time.perf_counter()
                    write(tl.store, run, turn)
                    timings.append(time.perf_counter() - started)
                medians[name].append(statistics.median(timings) * 1000)
    return statistics.median(medians["accounted"]), statistics.median(medians["unaccounted"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print("| database | accounted ms/turn | unaccounted ms/turn | accounting costs |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp, throwaway_postgres(durable=True) as server:
        urls = {
            "SQLite": f"sqlite:///{Path(tmp) / 'bench.db'}",
            "PostgreSQL": server.create_database("bench_accounting"),
        }
        for name, url in urls.items():
            with_it, without = ms_per_turn(url, args.turns, args.rounds)
            print(f"| {name} | {with_it:.3f} | {without:.3f} | {with_it - without:+.3f} ms |")


if __name__ == "__main__":
    main()
