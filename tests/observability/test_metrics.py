"""`Metrics` counts exactly what the engine reports to it, on a registry of its own."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from prometheus_client import generate_latest

from taskline.errors import ProviderError, ResponseParseError
from taskline.lifecycle import Status
from taskline.llm.scripted import ScriptedModel
from taskline.llm.types import ModelResponse, ToolCall, Usage
from taskline.models import Task
from taskline.observability.metrics import Metrics, process_metrics
from taskline.protocols import Observer
from taskline.records import Run
from taskline.tools.result import ToolResult
from tests.observability.exposition import samples

MODEL = ScriptedModel([], model="gpt-test")
# The labels of a model's series, sorted as `samples` sorts them.
CALL = 'agent="coder",model="gpt-test",provider="scripted"'
OK = 'agent="coder",model="gpt-test",outcome="ok",provider="scripted",purpose="agent"'
STARTED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def answer(
    usage: Usage, cost_usd: str | None, latency_ms: float = 250.0, provider: str = "scripted"
) -> ModelResponse:
    return ModelResponse(
        finish_reason="stop",
        usage=usage,
        provider=provider,
        model="gpt-test",
        cost_usd=None if cost_usd is None else Decimal(cost_usd),
        price_source="unknown" if cost_usd is None else "provider",
        latency_ms=latency_ms,
    )


def call(metrics: Metrics, response: ModelResponse, purpose: str = "agent") -> None:
    with metrics.model_call(
        MODEL, agent="coder", purpose="agent" if purpose == "agent" else "review", turn=1,
        messages=(),
    ) as watch:  # fmt: skip
        watch.ended(response)


def counted(metrics: Metrics, *prefixes: str) -> dict[str, float]:
    return samples(generate_latest(metrics.registry), *prefixes)


def run_record(status: str, category: str | None = None, seconds: float | None = 90.0) -> Run:
    return Run.model_validate(
        {"task_id": "t1", "number": 1, "trigger": "first", "agent": "coder",
         "model": "openai:gpt-test", "status": status, "failure_category": category,
         "started_at": STARTED,
         "ended_at": None if seconds is None else STARTED + timedelta(seconds=seconds)}
    )  # fmt: skip


def test_metrics_is_an_observer_on_a_registry_of_its_own() -> None:
    observer: Observer = Metrics()
    other = Metrics()
    call(other, answer(Usage(input_tokens=1, output_tokens=1), "0.5"))
    assert isinstance(observer, Metrics)
    assert counted(observer, "taskline_model") == {}
    assert process_metrics() is process_metrics()


def test_a_priced_call_counts_every_kind_of_token_its_cost_and_its_latency() -> None:
    metrics = Metrics()
    usage = Usage(
        input_tokens=1200, output_tokens=300, cache_read_tokens=1000, cache_write_tokens=150,
        reasoning_tokens=120,
    )  # fmt: skip
    call(metrics, answer(usage, "0.0125", latency_ms=1500))
    call(metrics, answer(Usage(input_tokens=100, output_tokens=20), "0.0025", latency_ms=250))

    assert counted(metrics, "taskline_model_calls", "taskline_model_tokens") == {
        f"taskline_model_calls_total{{{OK}}}": 2.0,
        f'taskline_model_tokens_total{{{CALL},type="input"}}': 1300.0,
        f'taskline_model_tokens_total{{{CALL},type="output"}}': 320.0,
        f'taskline_model_tokens_total{{{CALL},type="cache_read"}}': 1000.0,
        f'taskline_model_tokens_total{{{CALL},type="cache_write"}}': 150.0,
        f'taskline_model_tokens_total{{{CALL},type="reasoning"}}': 120.0,
    }
    # A counter is a float: the costs add up as floats do, never rounded to a cent.
    assert counted(metrics, "taskline_model_cost", "taskline_model_unpriced") == {
        f"taskline_model_cost_usd_total{{{CALL}}}": 0.0125 + 0.0025,
    }
    latency = counted(metrics, "taskline_model_call_duration_seconds")
    series = 'model="gpt-test",outcome="ok",provider="scripted"'
    assert latency[f"taskline_model_call_duration_seconds_count{{{series}}}"] == 2.0
    assert latency[f"taskline_model_call_duration_seconds_sum{{{series}}}"] == 1.75
    assert latency[f'taskline_model_call_duration_seconds_bucket{{le="0.25",{series}}}'] == 1.0
    assert latency[f'taskline_model_call_duration_seconds_bucket{{le="1.0",{series}}}'] == 1.0
    assert latency[f'taskline_model_call_duration_seconds_bucket{{le="2.0",{series}}}'] == 2.0


def test_an_unpriced_call_is_counted_as_unpriced_never_as_free() -> None:
    metrics = Metrics()
    call(metrics, answer(Usage(input_tokens=100, output_tokens=20), None))

    assert counted(metrics, "taskline_model_cost", "taskline_model_unpriced") == {
        f"taskline_model_unpriced_calls_total{{{CALL}}}": 1.0,
    }
    call(metrics, answer(Usage(input_tokens=100, output_tokens=20), "0.004"))
    assert counted(metrics, "taskline_model_cost", "taskline_model_unpriced") == {
        f"taskline_model_cost_usd_total{{{CALL}}}": 0.004,
        f"taskline_model_unpriced_calls_total{{{CALL}}}": 1.0,
    }


def test_a_failed_call_counts_as_an_error_and_a_billed_unreadable_one_keeps_its_bill() -> None:
    metrics = Metrics()
    refused = ProviderError(provider="scripted", model="gpt-test", detail="429 too many")
    unreadable = ResponseParseError(
        provider="scripted", model="gpt-test", detail="not JSON",
        usage=Usage(input_tokens=500, output_tokens=40), cost_usd=Decimal("0.002"),
        price_source="provider", body_excerpt="{oops",
    )  # fmt: skip
    for error in (refused, unreadable):
        with (
            pytest.raises(ProviderError),
            metrics.model_call(MODEL, agent="coder", purpose="review", turn=3, messages=()),
        ):
            raise error

    assert counted(
        metrics, "taskline_model_calls", "taskline_model_cost", "taskline_model_tok"
    ) == {
        'taskline_model_calls_total{agent="coder",model="gpt-test",outcome="error",'
        'provider="scripted",purpose="review"}': 2.0,
        f'taskline_model_tokens_total{{{CALL},type="input"}}': 500.0,
        f'taskline_model_tokens_total{{{CALL},type="output"}}': 40.0,
        f'taskline_model_tokens_total{{{CALL},type="cache_read"}}': 0.0,
        f'taskline_model_tokens_total{{{CALL},type="cache_write"}}': 0.0,
        f'taskline_model_tokens_total{{{CALL},type="reasoning"}}': 0.0,
        f"taskline_model_cost_usd_total{{{CALL}}}": 0.002,
    }
    series = 'model="gpt-test",outcome="error",provider="scripted"'
    assert counted(metrics)[f"taskline_model_call_duration_seconds_count{{{series}}}"] == 2.0


def test_a_call_cancelled_mid_way_is_interrupted_not_an_error() -> None:
    metrics = Metrics()
    with (
        pytest.raises(asyncio.CancelledError),
        metrics.model_call(MODEL, agent="coder", purpose="agent", turn=1, messages=()),
    ):
        raise asyncio.CancelledError

    assert counted(metrics, "taskline_model_calls") == {
        'taskline_model_calls_total{agent="coder",model="gpt-test",outcome="interrupted",'
        'provider="scripted",purpose="agent"}': 1.0,
    }


def test_runs_are_counted_by_outcome_and_failure_category_and_timed_by_their_records() -> None:
    metrics = Metrics()
    for ended in (
        run_record("submitted", seconds=90),
        run_record("failed", "budget_exhausted", seconds=20),
        run_record("failed", "budget_exhausted", seconds=40),
        run_record("cancelled", seconds=4),
    ):
        with metrics.run(run_record("running", seconds=None)) as watch:
            watch.ended(ended)
    with pytest.raises(RuntimeError), metrics.run(run_record("running", seconds=None)):
        raise RuntimeError("the store went away")

    assert counted(metrics, "taskline_runs") == {
        'taskline_runs_total{agent="coder",failure_category="",outcome="submitted"}': 1.0,
        'taskline_runs_total{agent="coder",failure_category="budget_exhausted",outcome="failed"}': 2.0,
        'taskline_runs_total{agent="coder",failure_category="",outcome="cancelled"}': 1.0,
        'taskline_runs_total{agent="coder",failure_category="",outcome="error"}': 1.0,
    }
    durations = counted(metrics, "taskline_run_duration_seconds_sum")
    assert durations == {
        'taskline_run_duration_seconds_sum{agent="coder",outcome="submitted"}': 90.0,
        'taskline_run_duration_seconds_sum{agent="coder",outcome="failed"}': 60.0,
        'taskline_run_duration_seconds_sum{agent="coder",outcome="cancelled"}': 4.0,
        'taskline_run_duration_seconds_sum{agent="coder",outcome="error"}': pytest.approx(0, abs=1),
    }


def test_tool_calls_are_timed_by_tool_and_outcome_and_invented_names_are_not_labels() -> None:
    metrics = Metrics()
    results = [
        ("read_file", ToolResult(output="x", duration_ms=20)),
        ("read_file", ToolResult(output="x", duration_ms=30)),
        ("run_command", ToolResult(output="exit 1", is_error=True, duration_ms=1500)),
        ("made_up_tool_7", ToolResult(output="no such tool", is_error=True, malformed=True,
                                      duration_ms=0)),
    ]  # fmt: skip
    for name, result in results:
        with metrics.tool_call(ToolCall(id="c1", name=name)) as watch:
            watch.ended(result)

    assert counted(metrics, "taskline_tool_call_duration_seconds_sum") == {
        'taskline_tool_call_duration_seconds_sum{outcome="ok",tool="read_file"}': 0.05,
        'taskline_tool_call_duration_seconds_sum{outcome="error",tool="run_command"}': 1.5,
        'taskline_tool_call_duration_seconds_sum{outcome="malformed",tool=""}': 0.0,
    }
    assert counted(metrics, "taskline_tool_call_duration_seconds_count") == {
        'taskline_tool_call_duration_seconds_count{outcome="ok",tool="read_file"}': 2.0,
        'taskline_tool_call_duration_seconds_count{outcome="error",tool="run_command"}': 1.0,
        'taskline_tool_call_duration_seconds_count{outcome="malformed",tool=""}': 1.0,
    }


def test_reviews_turns_and_moves_are_counted() -> None:
    metrics = Metrics()
    for kind, approved in (("checks", True), ("agent", False), ("agent", True)):
        with metrics.review("reviewer", "agent" if kind == "agent" else "checks") as watch:
            watch.ended(approved)
    with pytest.raises(OSError, match="no sandbox"), metrics.review("checks", "checks"):
        raise OSError("no sandbox")
    metrics.turn_ended(run_record("running", seconds=None), 2.5)
    metrics.turn_ended(run_record("running", seconds=None), 0.75)
    task = Task(title="t", status=Status.IN_PROGRESS, assignee="coder")
    metrics.moved(task, Status.ASSIGNED, actor="system", reason="")
    metrics.moved(task, Status.ASSIGNED, actor="system", reason="")
    done = Task(title="t", status=Status.COMPLETED, assignee="coder")
    metrics.moved(done, Status.IN_REVIEW, actor="checks", reason="")

    assert counted(metrics, "taskline_review_duration_seconds_count") == {
        'taskline_review_duration_seconds_count{kind="checks",verdict="approved"}': 1.0,
        'taskline_review_duration_seconds_count{kind="agent",verdict="rejected"}': 1.0,
        'taskline_review_duration_seconds_count{kind="agent",verdict="approved"}': 1.0,
        'taskline_review_duration_seconds_count{kind="checks",verdict="error"}': 1.0,
    }
    assert counted(metrics, "taskline_turn_duration_seconds_sum", "taskline_transitions") == {
        'taskline_turn_duration_seconds_sum{agent="coder"}': 3.25,
        'taskline_transitions_total{from="ASSIGNED",to="IN_PROGRESS"}': 2.0,
        'taskline_transitions_total{from="IN_REVIEW",to="COMPLETED"}': 1.0,
    }


def test_a_block_that_ends_without_a_result_counts_nothing() -> None:
    metrics = Metrics()
    with metrics.run(run_record("running", seconds=None)), metrics.task("t1", resumed=None):
        pass
    assert counted(metrics, "taskline_") == {}


def test_a_count_that_fails_is_logged_and_never_stops_the_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    # A counter cannot go down: counting a negative cost raises inside prometheus-client.
    with caplog.at_level(logging.WARNING, "taskline.observability.metrics"):
        call(metrics, answer(Usage(input_tokens=10, output_tokens=1), "-0.5"))
    assert [record.getMessage() for record in caplog.records] == [
        "taskline: a metric was not counted: Counters can only be incremented by non-negative"
        " amounts."
    ]
    assert counted(metrics, "taskline_model_calls") == {
        f"taskline_model_calls_total{{{OK}}}": 1.0,
    }
