"""Runs, turns, tool calls, cost records, artifacts, reviews and metrics in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from taskline import Status, Taskline
from taskline.errors import ConflictError
from taskline.records import (
    Artifact,
    CostRecord,
    Review,
    Run,
    TaskMetrics,
    ToolCallRecord,
    Turn,
)
from taskline.store import SqlStore
from tests.lifecycle_paths import task_in

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _run(store: SqlStore, task_id: str, number: int = 1) -> Run:
    return store.start_run(
        Run(task_id=task_id, number=number, trigger="first", agent="coder", model="scripted:x")
    )


def _cost(task_id: str, run_id: str, turn: int, cost: str | None) -> CostRecord:
    return CostRecord(
        task_id=task_id, run_id=run_id, turn=turn, agent="coder", provider="openai",
        model="gpt-4o-mini", input_tokens=1000, output_tokens=200, cache_read_tokens=400,
        cost_usd=None if cost is None else Decimal(cost),
        price_source="unknown" if cost is None else "genai-prices",
        latency_ms=12.5, finish_reason="tool_calls", attempts=2,
    )  # fmt: skip


def test_cost_records_are_exact_and_written_once(tl: Taskline, store: SqlStore) -> None:
    task_id = task_in(tl, Status.IN_PROGRESS)
    run = _run(store, task_id)
    first = store.add_cost_record(_cost(task_id, run.id, 1, "0.000123456789"))
    store.add_cost_record(_cost(task_id, run.id, 2, None))
    # A replayed step writes the same (run, purpose, turn) again: nothing new is stored.
    again = store.add_cost_record(_cost(task_id, run.id, 1, "0.999"))
    assert again == first
    records = store.cost_records(task_id)
    assert [(r.turn, r.cost_usd, r.price_source) for r in records] == [
        (1, Decimal("0.000123456789"), "genai-prices"),
        (2, None, "unknown"),
    ]
    assert records[0] == first
    assert store.task_spend(task_id) == (Decimal("0.000123456789"), 1)
    assert store.cost_records() == records


def test_run_lifecycle_turns_and_tool_calls(tl: Taskline, store: SqlStore) -> None:
    task_id = task_in(tl, Status.IN_PROGRESS)
    run = _run(store, task_id)
    assert _run(store, task_id) == run  # the same number again is the same run
    turn = Turn(run_id=run.id, number=1, text="", finish_reason="tool_calls",
                started_at=T0, ended_at=T0 + timedelta(seconds=1))  # fmt: skip
    calls = [
        ToolCallRecord(
            run_id=run.id,
            turn=1,
            index=i,
            call_id=f"c{i}",
            name="read_file",
            arguments={"path": f"f{i}"},
            output="x",
            is_error=i == 1,
            duration_ms=1.5,
        )  # fmt: skip
        for i in range(2)
    ]
    store.add_turn(turn, calls)
    store.add_turn(turn, calls)  # replayed: stored once
    assert store.turns(run.id) == [turn]
    assert store.tool_calls(run.id) == calls
    ended = store.end_run(run.id, "submitted", ended_at=T0, summary="done")
    assert (ended.status, ended.summary, ended.ended_at) == ("submitted", "done", T0)
    assert store.list_runs(task_id) == [ended]


def test_artifacts_reviews_and_metrics(tl: Taskline, store: SqlStore) -> None:
    task_id = task_in(tl, Status.IN_PROGRESS)
    run = _run(store, task_id)
    changes = [
        Artifact(task_id=task_id, run_id=run.id, path="b.txt", change="deleted", size=3,
                 sha256="b" * 64),
        Artifact(task_id=task_id, run_id=run.id, path="a.txt", change="created", size=5,
                 sha256="a" * 64),
    ]  # fmt: skip
    store.add_artifacts(changes)
    store.add_artifacts(changes)
    assert [a.path for a in store.artifacts(task_id)] == ["a.txt", "b.txt"]
    review = store.add_review(
        Review(task_id=task_id, run_id=run.id, reviewer="checks", approved=False,
               feedback="1 check failed", details={"checks": [{"command": "false", "exit_code": 1}]})
    )  # fmt: skip
    assert store.reviews(task_id) == [review]
    metrics = TaskMetrics(task_id=task_id, turns_per_task=3, tokens_per_task=1200,
                          input_tokens=1000, output_tokens=200, cost_per_task=None,
                          unpriced_calls=1, duration_seconds=2.5, tool_calls=4, runs=1,
                          updated_at=T0)  # fmt: skip
    store.save_metrics(metrics)
    assert store.get_metrics(task_id) == metrics
    updated = metrics.model_copy(update={"cost_per_task": Decimal("0.5"), "runs": 2})
    store.save_metrics(updated)
    assert store.get_metrics(task_id) == updated
    assert store.list_metrics() == [updated]


def test_failed_move_records_the_failure_and_a_later_move_clears_it(
    tl: Taskline, store: SqlStore
) -> None:
    task_id = task_in(tl, Status.IN_PROGRESS)
    failed = store.move(task_id, Status.FAILED, actor="system", reason="30 turns used",
                        failure_category="max_turns")  # fmt: skip
    assert (failed.failure_category, failed.failure_message) == ("max_turns", "30 turns used")
    assert tl.get_task(task_id) == failed
    retried = tl.assign(task_id, "coder")
    assert (retried.failure_category, retried.failure_message) == (None, None)
    assert tl.get_task(task_id).failure_category is None


def test_a_move_into_in_progress_opens_its_run_in_the_same_transaction(
    tl: Taskline, store: SqlStore
) -> None:
    task_id = task_in(tl, Status.ASSIGNED)
    run = Run(task_id=task_id, number=1, trigger="first", agent="coder", model="scripted:none")
    # A move refused by its compare-and-set writes no run either.
    with pytest.raises(ConflictError):
        store.move(task_id, Status.IN_PROGRESS, actor="system", expected=Status.FAILED, opening=run)
    assert store.list_runs(task_id) == []
    moved = store.move(
        task_id, Status.IN_PROGRESS, actor="system", expected=Status.ASSIGNED, opening=run
    )
    assert moved.status is Status.IN_PROGRESS
    assert store.list_runs(task_id) == [run]
    assert store.transitions(task_id)[-1].to_status is Status.IN_PROGRESS


def _pending(task_id: str, run_id: str, turn: int) -> CostRecord:
    return CostRecord(
        task_id=task_id, run_id=run_id, turn=turn, agent="coder", provider="openai",
        model="gpt-4o-mini", input_tokens=0, output_tokens=0, cost_usd=None,
        price_source="unknown", latency_ms=0, finish_reason="pending", state="pending",
    )  # fmt: skip


def _answered(intent: CostRecord) -> CostRecord:
    return intent.model_copy(
        update={
            "input_tokens": 900,
            "output_tokens": 100,
            "cost_usd": Decimal("0.0002"),
            "price_source": "genai-prices",
            "finish_reason": "stop",
        }  # fmt: skip
    )


def test_an_answer_is_one_update_committed_without_waiting_for_the_disk(
    tl: Taskline, store: SqlStore
) -> None:
    task_id = task_in(tl, Status.IN_PROGRESS)
    run = _run(store, task_id)
    intent = store.add_cost_record(_pending(task_id, run.id, 1))
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        store.record_answer(_answered(intent))
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    # No look for lost calls to lend an estimate to: this call replaced none.
    if store.engine.dialect.name == "postgresql":
        assert statements[0] == "SET LOCAL synchronous_commit TO OFF"
        assert [s.split()[0] for s in statements] == ["SET", "UPDATE"]
    else:
        assert [s.split()[0] for s in statements] == ["BEGIN", "UPDATE"]
    [stored] = store.cost_records(task_id)
    assert (stored.state, stored.input_tokens, stored.cost_usd) == (
        "answered",
        900,
        Decimal("0.0002"),
    )


def test_a_call_sent_in_place_of_a_lost_one_lends_it_its_figures(
    tl: Taskline, store: SqlStore
) -> None:
    task_id = task_in(tl, Status.IN_PROGRESS)
    run = _run(store, task_id)
    first = store.add_cost_record(_pending(task_id, run.id, 1))
    again = store.reissue(first, _pending(task_id, run.id, 1))
    store.record_answer(_answered(again), replaced_lost=True)
    records = store.cost_records(task_id)
    assert [(r.state, r.input_tokens, r.cost_usd, r.price_source) for r in records] == [
        ("lost", 900, Decimal("0.0002"), "estimate"),
        ("answered", 900, Decimal("0.0002"), "genai-prices"),
    ]
