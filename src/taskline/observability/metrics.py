"""Prometheus metrics of what the engine reports: `Metrics`, an `Observer` that counts.

A `Metrics` keeps its metrics on a `prometheus_client.CollectorRegistry` of its own,
never the library's global one, so a test makes its own and reads exact values. A
process serves one, `process_metrics()`, made the first time it is asked for. What
lives in the database (tasks by status, the run queue, workers' heartbeats) is read
when Prometheus scrapes, by `taskline.observability.scrape`.

    taskline_transitions_total{from,to}                    status changes
    taskline_runs_total{agent,outcome,failure_category}    runs, by how they ended
    taskline_run_duration_seconds{agent,outcome}           a run, start to end
    taskline_turn_duration_seconds{agent}                  a model call and its tools
    taskline_model_calls_total{provider,model,agent,purpose,outcome}
    taskline_model_call_duration_seconds{provider,model,outcome}
    taskline_model_tokens_total{provider,model,agent,type} input, output, cache_read,
                                                           cache_write, reasoning
    taskline_model_cost_usd_total{provider,model,agent}    priced calls only
    taskline_model_unpriced_calls_total{provider,model,agent}
    taskline_tool_call_duration_seconds{tool,outcome}
    taskline_review_duration_seconds{kind,verdict}

An unknown price is not zero: such a call adds nothing to the cost and one to the
unpriced calls. A block the engine leaves with an exception counts as `error` (an
`Exception`) or `interrupted` (a cancellation, a stop). Telemetry never stops a
run: a count that fails (a full disk in multiprocess mode) is logged and dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Generic, Literal, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram

from taskline.errors import ResponseParseError
from taskline.lifecycle import Status
from taskline.llm.types import Message, ModelResponse, ToolCall, Usage
from taskline.models import Task
from taskline.protocols import Model, TaskWatch, Watch
from taskline.records import CallPurpose, Run, TraceContext
from taskline.tools.result import ToolResult

T = TypeVar("T")

logger = logging.getLogger(__name__)

# Bucket bounds in seconds, from the fastest to the slowest of each thing worth telling apart.
MODEL_CALL_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)
TURN_BUCKETS = (0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300, 600)
RUN_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
REVIEW_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600)
TOOL_CALL_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

TOKEN_TYPES = ("input", "output", "cache_read", "cache_write", "reasoning")
"""The `type` label of `taskline_model_tokens_total`; cache reads and writes are part of
`input`, reasoning part of `output`, as in `Usage`."""


class Metrics:
    """An `Observer` that counts what the engine reports, on `registry` (a new one unless
    given). See the module's docstring for the metrics."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = CollectorRegistry() if registry is None else registry
        registry = self.registry
        model = ["provider", "model", "agent"]
        self.transitions = Counter(
            "taskline_transitions", "Status changes of tasks.", ["from", "to"], registry=registry
        )
        self.runs = Counter(
            "taskline_runs",
            "Runs that ended: outcome submitted, failed, cancelled, error or interrupted;"
            " failure_category when failed.",
            ["agent", "outcome", "failure_category"],
            registry=registry,
        )
        self.run_seconds = Histogram(
            "taskline_run_duration_seconds",
            "Wall-clock time of a run, from its start to its end.",
            ["agent", "outcome"],
            buckets=RUN_BUCKETS,
            registry=registry,
        )
        self.turn_seconds = Histogram(
            "taskline_turn_duration_seconds",
            "Wall-clock time of a turn: its model call and the tools it asked for.",
            ["agent"],
            buckets=TURN_BUCKETS,
            registry=registry,
        )
        self.model_calls = Counter(
            "taskline_model_calls",
            "Calls sent to a model: outcome ok, error or interrupted; purpose agent or review.",
            [*model, "purpose", "outcome"],
            registry=registry,
        )
        self.model_seconds = Histogram(
            "taskline_model_call_duration_seconds",
            "Latency of a model call, retries and their waits included.",
            ["provider", "model", "outcome"],
            buckets=MODEL_CALL_BUCKETS,
            registry=registry,
        )
        self.tokens = Counter(
            "taskline_model_tokens",
            "Tokens billed: type input (cache_read and cache_write are parts of it),"
            " output (reasoning is part of it).",
            [*model, "type"],
            registry=registry,
        )
        self.cost = Counter(
            "taskline_model_cost_usd",
            "Cost of the calls whose price is known, in US dollars.",
            model,
            registry=registry,
        )
        self.unpriced = Counter(
            "taskline_model_unpriced_calls",
            "Calls whose price is unknown: their cost is not in taskline_model_cost_usd_total.",
            model,
            registry=registry,
        )
        self.tool_seconds = Histogram(
            "taskline_tool_call_duration_seconds",
            "Duration of a tool call: outcome ok, error (the tool failed), malformed (no"
            " such tool or bad arguments, counted with tool empty) or interrupted.",
            ["tool", "outcome"],
            buckets=TOOL_CALL_BUCKETS,
            registry=registry,
        )
        self.review_seconds = Histogram(
            "taskline_review_duration_seconds",
            "Duration of a review by the checks or a reviewer agent: verdict approved,"
            " rejected, error or interrupted.",
            ["kind", "verdict"],
            buckets=REVIEW_BUCKETS,
            registry=registry,
        )

    # -- the Observer -----------------------------------------------------------------

    def task(
        self, task_id: str, *, resumed: TraceContext | None
    ) -> AbstractContextManager[TaskWatch]:
        """Nothing is counted per task execution: its runs, calls and moves are."""
        return nullcontext(_Told[Task]())

    def run(self, run: Run) -> AbstractContextManager[Watch[Run]]:
        """Count the run and its duration by how it ended."""

        def ended(result: Run, seconds: float) -> None:
            if result.ended_at is not None:  # the stored times: a resumed run's whole life
                seconds = (result.ended_at - result.started_at).total_seconds()
            category = result.failure_category or ""
            self.runs.labels(result.agent, result.status, category).inc()
            self.run_seconds.labels(result.agent, result.status).observe(seconds)

        def failed(error: BaseException, seconds: float) -> None:
            outcome = _outcome(error)
            self.runs.labels(run.agent, outcome, "").inc()
            self.run_seconds.labels(run.agent, outcome).observe(seconds)

        return _watching(ended, failed)

    def model_call(
        self,
        model: Model,
        *,
        agent: str,
        purpose: CallPurpose,
        turn: int,
        messages: Sequence[Message],
    ) -> AbstractContextManager[Watch[ModelResponse]]:
        """Count the call, its latency, its tokens and its cost (or that it had no price)."""
        provider, name = model.provider, model.model

        def ended(response: ModelResponse, _seconds: float) -> None:
            self.model_calls.labels(provider, name, agent, purpose, "ok").inc()
            # The adapter's own measure, as the call's cost record keeps it.
            self.model_seconds.labels(provider, name, "ok").observe(response.latency_ms / 1000)
            self._billed(provider, name, agent, response.usage, response.cost_usd is None)
            if response.cost_usd is not None:
                self.cost.labels(provider, name, agent).inc(float(response.cost_usd))

        def failed(error: BaseException, seconds: float) -> None:
            outcome = _outcome(error)
            self.model_calls.labels(provider, name, agent, purpose, outcome).inc()
            self.model_seconds.labels(provider, name, outcome).observe(seconds)
            if isinstance(error, ResponseParseError):  # billed, though unreadable
                usage = error.usage or Usage()
                self._billed(provider, name, agent, usage, error.cost_usd is None)
                if error.cost_usd is not None:
                    self.cost.labels(provider, name, agent).inc(float(error.cost_usd))

        return _watching(ended, failed)

    def _billed(self, provider: str, model: str, agent: str, usage: Usage, unpriced: bool) -> None:
        counts = (
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_read_tokens,
            usage.cache_write_tokens,
            usage.reasoning_tokens,
        )
        for kind, count in zip(TOKEN_TYPES, counts, strict=True):
            self.tokens.labels(provider, model, agent, kind).inc(count)
        if unpriced:
            self.unpriced.labels(provider, model, agent).inc()

    def tool_call(self, call: ToolCall) -> AbstractContextManager[Watch[ToolResult]]:
        """Time the tool call by tool and outcome."""

        def ended(result: ToolResult, _seconds: float) -> None:
            # A model may invent any number of tool names: a malformed call has none here.
            if result.malformed:
                tool, outcome = "", "malformed"
            else:
                tool, outcome = call.name, "error" if result.is_error else "ok"
            self.tool_seconds.labels(tool, outcome).observe(result.duration_ms / 1000)

        def failed(error: BaseException, seconds: float) -> None:
            self.tool_seconds.labels(call.name, _outcome(error)).observe(seconds)

        return _watching(ended, failed)

    def review(
        self, reviewer: str, kind: Literal["checks", "agent"]
    ) -> AbstractContextManager[Watch[bool]]:
        """Time the review by its kind and verdict."""

        def ended(approved: bool, seconds: float) -> None:
            verdict = "approved" if approved else "rejected"
            self.review_seconds.labels(kind, verdict).observe(seconds)

        def failed(error: BaseException, seconds: float) -> None:
            self.review_seconds.labels(kind, _outcome(error)).observe(seconds)

        return _watching(ended, failed)

    def turn_ended(self, run: Run, seconds: float) -> None:
        """Time the turn."""
        _quietly(self.turn_seconds.labels(run.agent).observe, seconds)

    def moved(self, task: Task, from_status: Status, *, actor: str, reason: str) -> None:
        """Count the move."""
        _quietly(self.transitions.labels(from_status.value, task.status.value).inc)

    def flush(self) -> None:
        """Nothing waits to be sent: Prometheus comes for the counts."""


class _Told(Generic[T]):
    """A watch that keeps what it was told; it has no trace."""

    trace: TraceContext | None = None

    def __init__(self) -> None:
        self.results: list[T] = []

    def ended(self, result: T) -> None:
        self.results.append(result)


@contextmanager
def _watching(
    ended: Callable[[T, float], None], failed: Callable[[BaseException, float], None]
) -> Iterator[_Told[T]]:
    """A watch on one thing: `ended(result, seconds)` once the block has ended and the
    watch was told its result; `failed(exception, seconds)` when an exception left the
    block, which goes on up. A block that ended without a result counts nothing."""
    watch = _Told[T]()
    started = time.perf_counter()
    try:
        yield watch
    except BaseException as error:
        _quietly(failed, error, time.perf_counter() - started)
        raise
    if watch.results:
        _quietly(ended, watch.results[-1], time.perf_counter() - started)


def _outcome(error: BaseException) -> str:
    """`error` for a failure, `interrupted` for a cancellation or a stop (the run resumes)."""
    return "error" if isinstance(error, Exception) else "interrupted"


def _quietly(count: Callable[..., None], *args: object) -> None:
    """`count(*args)`, or log why not: an `Observer` may not raise into the run it watches."""
    try:
        count(*args)
    except Exception as exc:  # whatever it is, the run must go on
        logger.warning("taskline: a metric was not counted: %s", exc)


_process: Metrics | None = None
_process_lock = threading.Lock()


def process_metrics() -> Metrics:
    """This process's `Metrics`, made on first use: what its `/metrics` serves."""
    global _process
    with _process_lock:
        if _process is None:
            _process = Metrics()
        return _process
