"""Traces and metrics of what the engine reports (the `Observer` seam).

    tracing   OpenTelemetry spans, GenAI semantic conventions, sent over OTLP
    metrics   Prometheus counters and histograms, served at `/metrics`

`from_environment` builds a process's observer: its Prometheus counts (in memory, a few
microseconds a turn, served by `taskline serve` and `taskline worker --metrics-port`),
and traces when the standard `OTEL_EXPORTER_OTLP_*` variables say where to send them (or
the application set up an OpenTelemetry SDK of its own), none otherwise, so that a
process that exports no traces pays nothing for them.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any, Literal

from taskline.engine.events import UNOBSERVED
from taskline.lifecycle import Status
from taskline.llm.types import Message, ModelResponse, ToolCall
from taskline.models import Task
from taskline.protocols import Model, Observer, TaskWatch, Watch
from taskline.records import CallPurpose, Run, TraceContext
from taskline.tools.result import ToolResult


def from_environment(env: Mapping[str, str] = os.environ) -> Observer:
    """This process's observer, as the environment asks."""
    from taskline.observability.metrics import process_metrics

    observers: list[Observer] = []
    traces = _tracer_provider(env)
    if traces is not None:
        from taskline.observability.tracing import Tracing

        observers.append(Tracing.from_environment(traces, env))
    observers.append(process_metrics())
    return Observers.of(observers)


def _tracer_provider(env: Mapping[str, str]) -> Any:
    """The application's OpenTelemetry SDK provider if it set one; else one exporting over
    OTLP/HTTP where the variables say; else None (no traces)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return None
    from opentelemetry import trace

    current = trace.get_tracer_provider()
    if not isinstance(current, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return current  # the application's own: it chose where spans go
    endpoint = traces_endpoint(env)
    if endpoint is None:
        return None
    return _exporting_provider(endpoint, env.get("OTEL_SERVICE_NAME") or "taskline")


def traces_endpoint(env: Mapping[str, str]) -> str | None:
    """Where the variables of `env` say spans go: the traces endpoint as it is given, or
    the base endpoint's `/v1/traces` (as the OTLP exporter reads them); None for nowhere."""
    traces = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if traces:
        return traces
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    return f"{base.rstrip('/')}/v1/traces" if base else None


@functools.cache
def _exporting_provider(endpoint: str, service: str) -> Any:
    """One provider per endpoint and service in a process, however many `Taskline`s open:
    each has an exporting thread, and its spans are flushed when the process exits."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # The endpoint and service come from the `env` given (a `Taskline.open(env=...)` may
    # not be the process's); headers, timeout and compression from the process's variables.
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    logging.getLogger(EXPORTER_LOGGER).addFilter(_one_line_per_failed_export)
    return provider


EXPORTER_LOGGER = "opentelemetry.exporter.otlp.proto.http.trace_exporter"
OUT_OF_TIME = "Failed to export spans batch due to timeout, max retries or shutdown."
"""The exporter's words when its retries have spent OTEL_EXPORTER_OTLP_TIMEOUT."""
NO_TIME_LEFT = "timeout cannot be set to a value less than or equal to 0"


def _one_line_per_failed_export(record: logging.LogRecord) -> bool:
    """A collector that is down costs the user one line, not one per retry."""
    message = record.getMessage()
    if message.startswith("Transient error"):
        return False  # retried: the final failure, if any, is said below
    if message.startswith("Failed to export"):
        if NO_TIME_LEFT in message:
            # Woken late from the wait before a retry (a loaded machine), the exporter
            # tries with no time left and reports the transport's refusal of a zero
            # timeout: the same failure as OUT_OF_TIME, in other words.
            message = OUT_OF_TIME
        record.msg, record.args = "traces were not sent: %s", (message,)
    return True


class Observers:
    """Several observers told the same things, in order."""

    def __init__(self, observers: Sequence[Observer]) -> None:
        self.observers = tuple(observers)

    @staticmethod
    def of(observers: Sequence[Observer]) -> Observer:
        """One observer for `observers`: none is `UNOBSERVED`, one is itself."""
        if not observers:
            return UNOBSERVED
        return observers[0] if len(observers) == 1 else Observers(observers)

    def task(
        self, task_id: str, *, resumed: TraceContext | None
    ) -> AbstractContextManager[TaskWatch]:
        """Each observer's task watch; the trace is the first that has one."""
        return self._all([o.task(task_id, resumed=resumed) for o in self.observers])

    def run(self, run: Run) -> AbstractContextManager[Watch[Run]]:
        """Each observer's run watch."""
        return self._all([o.run(run) for o in self.observers])

    def model_call(
        self,
        model: Model,
        *,
        agent: str,
        purpose: CallPurpose,
        turn: int,
        messages: Sequence[Message],
    ) -> AbstractContextManager[Watch[ModelResponse]]:
        """Each observer's call watch."""
        return self._all(
            [
                o.model_call(model, agent=agent, purpose=purpose, turn=turn, messages=messages)
                for o in self.observers
            ]
        )

    def tool_call(self, call: ToolCall) -> AbstractContextManager[Watch[ToolResult]]:
        """Each observer's tool watch."""
        return self._all([o.tool_call(call) for o in self.observers])

    def review(
        self, reviewer: str, kind: Literal["checks", "agent"]
    ) -> AbstractContextManager[Watch[bool]]:
        """Each observer's review watch."""
        return self._all([o.review(reviewer, kind) for o in self.observers])

    def turn_ended(self, run: Run, seconds: float) -> None:
        """Told to each."""
        for observer in self.observers:
            observer.turn_ended(run, seconds)

    def moved(self, task: Task, from_status: Status, *, actor: str, reason: str) -> None:
        """Told to each."""
        for observer in self.observers:
            observer.moved(task, from_status, actor=actor, reason=reason)

    def flush(self) -> None:
        """Each flushes."""
        for observer in self.observers:
            observer.flush()

    @contextmanager
    def _all(self, watched: list[AbstractContextManager[Any]]) -> Iterator[_Watches]:
        with ExitStack() as stack:
            yield _Watches([stack.enter_context(w) for w in watched])


class _Watches:
    """The watches of several observers, told the same end."""

    def __init__(self, watches: list[Any]) -> None:
        self.watches = watches

    @property
    def trace(self) -> TraceContext | None:
        traces = (getattr(w, "trace", None) for w in self.watches)
        return next((t for t in traces if t is not None), None)

    def ended(self, result: Any) -> None:
        for watch in self.watches:
            watch.ended(result)
