"""OpenTelemetry traces of task executions, named as the GenAI semantic conventions say.

    taskline.task                  one execution: a run with its review and rework, or a
    │                              person's verdict; every status move is an event on it
    ├── invoke_agent {agent}       one run of the task's agent
    │   ├── chat {model}           one model call sent (not one replayed after a crash)
    │   └── execute_tool {tool}    one tool call run
    ├── taskline.checks            the task's checks
    └── invoke_agent {reviewer}    a reviewer agent, with its own chat spans

A run resumed after a crash sends its spans into the trace it began in (stored with the
run): its new `taskline.task` span is a child of the one the crash cut short.

Cost has no name in the conventions yet (semantic-conventions issues #2312, #2664):
each chat span carries `taskline.cost_usd`, and the task and run spans the totals of the
calls under them. The totals use `taskline.usage.*` rather than `gen_ai.usage.*`, so a
backend that adds up token counts over spans does not count a call twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Literal, TypeVar

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
    TracerProvider,
)
from opentelemetry.trace import (
    Status as SpanStatus,
)
from opentelemetry.util.types import AttributeValue

from taskline.errors import ResponseParseError
from taskline.lifecycle import Status
from taskline.llm.types import Message, ModelResponse, ToolCall
from taskline.models import Task
from taskline.observability import content
from taskline.protocols import Model, TaskWatch, Watch
from taskline.records import CallPurpose, Run, TraceContext
from taskline.tools.result import ToolResult
from taskline.version import __version__

LATEST_OPT_IN = "gen_ai_latest_experimental"
# The one attribute whose name changed after semantic conventions v1.41, when the GenAI
# conventions moved to a repository of their own.
CACHE_WRITE_TOKENS = {
    "v1.41": "gen_ai.usage.cache_creation.input_tokens",
    "latest": "gen_ai.usage.cache_write.input_tokens",
}


class _Totals:
    """What the calls under a task or run span used, as they end."""

    def __init__(self) -> None:
        self.calls = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd = Decimal(0)
        self.unpriced = 0

    def add(self, response: ModelResponse) -> None:
        self.calls += 1
        self.input_tokens += response.usage.input_tokens
        self.output_tokens += response.usage.output_tokens
        if response.cost_usd is None:
            self.unpriced += 1
        else:
            self.cost_usd += response.cost_usd

    def attributes(self) -> dict[str, AttributeValue]:
        totals: dict[str, AttributeValue] = {
            "taskline.model_calls": self.calls,
            "taskline.usage.input_tokens": self.input_tokens,
            "taskline.usage.output_tokens": self.output_tokens,
        }
        # unknown is not zero: a total with an unpriced call in it is no total
        if self.unpriced:
            totals["taskline.unpriced_calls"] = self.unpriced
        else:
            totals["taskline.cost_usd"] = float(self.cost_usd)
        return totals


# The totals a call adds to: its run's and its task execution's, wherever it runs.
_adding_to: ContextVar[tuple[_Totals, ...]] = ContextVar("taskline_trace_totals", default=())


class _SpanWatch:
    """A span's watch: what a thing ended with becomes attributes of its span."""

    def __init__(self, span: Span) -> None:
        self.span = span
        self.totals = _Totals()


W = TypeVar("W", bound=_SpanWatch)


class _TaskSpan(_SpanWatch):
    @property
    def trace(self) -> TraceContext | None:
        context = self.span.get_span_context()
        if not context.is_valid:  # a provider that records nothing
            return None
        return TraceContext(
            trace_id=trace.format_trace_id(context.trace_id),
            span_id=trace.format_span_id(context.span_id),
        )

    def ended(self, result: Task) -> None:
        self.span.set_attributes(
            {
                "taskline.task.title": result.title,
                "taskline.task.status": result.status.value,
                **self.totals.attributes(),
            }
        )
        if result.status is Status.FAILED:
            category = result.failure_category or "failed"
            self.span.set_attributes(
                {"taskline.task.failure_category": category, "error.type": category}
            )
            self.span.set_status(SpanStatus(StatusCode.ERROR, result.failure_message or None))


class _RunSpan(_SpanWatch):
    def ended(self, result: Run) -> None:
        self.span.set_attributes({"taskline.run.status": result.status, **self.totals.attributes()})
        if result.failure_category is not None:
            self.span.set_attributes(
                {
                    "taskline.run.failure_category": result.failure_category,
                    "error.type": result.failure_category,
                }
            )
            self.span.set_status(SpanStatus(StatusCode.ERROR, result.failure_message))


class _ChatSpan(_SpanWatch):
    def __init__(self, span: Span, cache_write_name: str, capture: bool) -> None:
        super().__init__(span)
        self.cache_write_name = cache_write_name
        self.capture = capture

    def ended(self, result: ModelResponse) -> None:
        usage = result.usage
        attributes: dict[str, AttributeValue] = {
            "gen_ai.response.finish_reasons": [
                result.provider_finish_reason or result.finish_reason
            ],
            "gen_ai.usage.input_tokens": usage.input_tokens,
            "gen_ai.usage.output_tokens": usage.output_tokens,
            "gen_ai.usage.cache_read.input_tokens": usage.cache_read_tokens,
            self.cache_write_name: usage.cache_write_tokens,
            "gen_ai.usage.reasoning.output_tokens": usage.reasoning_tokens,
            "taskline.price_source": result.price_source,
            "taskline.attempts": result.attempts,
        }
        if result.response_model is not None:
            attributes["gen_ai.response.model"] = result.response_model
        if result.response_id is not None:
            attributes["gen_ai.response.id"] = result.response_id
        if result.cost_usd is not None:  # unknown is not zero: left out
            attributes["taskline.cost_usd"] = float(result.cost_usd)
        if self.capture:
            attributes["gen_ai.output.messages"] = content.output_messages(result)
        self.span.set_attributes(attributes)
        for totals in _adding_to.get():
            totals.add(result)


class _ToolSpan(_SpanWatch):
    def __init__(self, span: Span, capture: bool) -> None:
        super().__init__(span)
        self.capture = capture

    def ended(self, result: ToolResult) -> None:
        if self.capture:
            self.span.set_attribute("gen_ai.tool.call.result", result.output)
        if result.is_error:
            kind = "malformed_call" if result.malformed else "tool_error"
            self.span.set_attribute("error.type", kind)
            self.span.set_status(SpanStatus(StatusCode.ERROR))


class _ReviewSpan(_SpanWatch):
    def ended(self, result: bool) -> None:
        self.span.set_attribute("taskline.review.approved", result)


class Tracing:
    """An `Observer` that turns what the engine reports into spans of `provider`'s tracer."""

    def __init__(
        self, provider: TracerProvider, *, capture_content: bool = False, latest: bool = False
    ) -> None:
        self._provider = provider
        self._tracer = provider.get_tracer("taskline", __version__)
        self._capture = capture_content
        self._cache_write = CACHE_WRITE_TOKENS["latest" if latest else "v1.41"]
        # The task executions under way in this process, for the moves that happen in
        # worker threads (a step's), where the span is not the current one.
        self._executions: dict[str, Span] = {}

    @classmethod
    def from_environment(cls, provider: TracerProvider, env: Mapping[str, str]) -> Tracing:
        """Content capture and attribute names as the standard variables ask."""
        capture = env.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "")
        opt_in = env.get("OTEL_SEMCONV_STABILITY_OPT_IN", "")
        return cls(
            provider,
            capture_content=capture.strip().lower() == "true",
            latest=LATEST_OPT_IN in {part.strip() for part in opt_in.split(",")},
        )

    @contextmanager
    def task(self, task_id: str, *, resumed: TraceContext | None) -> Iterator[TaskWatch]:
        """The `taskline.task` span, a child of the execution `resumed` if there was one."""
        parent = None if resumed is None else _remote(resumed)
        attributes: dict[str, AttributeValue] = {"taskline.task.id": task_id}
        if resumed is not None:
            attributes["taskline.resumed"] = True
        with self._tracer.start_as_current_span(
            "taskline.task", context=parent, attributes=attributes
        ) as span:
            watch = _TaskSpan(span)
            self._executions[task_id] = span
            token = _adding_to.set((watch.totals,))
            try:
                yield watch
            finally:
                _adding_to.reset(token)
                self._executions.pop(task_id, None)

    @contextmanager
    def run(self, run: Run) -> Iterator[Watch[Run]]:
        """The run's `invoke_agent {agent}` span."""
        with self._tracer.start_as_current_span(
            f"invoke_agent {run.agent}",
            kind=SpanKind.INTERNAL,
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": run.agent,
                "gen_ai.request.model": run.model,
                "taskline.run.id": run.id,
                "taskline.run.number": run.number,
                "taskline.run.trigger": run.trigger,
            },
        ) as span:
            watch = _RunSpan(span)
            token = _adding_to.set((*_adding_to.get(), watch.totals))
            try:
                yield watch
            finally:
                _adding_to.reset(token)

    def model_call(
        self,
        model: Model,
        *,
        agent: str,
        purpose: CallPurpose,
        turn: int,
        messages: Sequence[Message],
    ) -> AbstractContextManager[Watch[ModelResponse]]:
        """A `chat {model}` span around the call."""
        attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": model.provider,
            "gen_ai.request.model": model.model,
            "gen_ai.agent.name": agent,
            "taskline.call.purpose": purpose,
            "taskline.turn": turn,
        }
        if self._capture:
            attributes["gen_ai.system_instructions"] = content.system_instructions(messages)
            attributes["gen_ai.input.messages"] = content.input_messages(messages)
        return self._span(
            f"chat {model.model}",
            attributes,
            lambda span: _ChatSpan(span, self._cache_write, self._capture),
            kind=SpanKind.CLIENT,
        )

    def tool_call(self, call: ToolCall) -> AbstractContextManager[Watch[ToolResult]]:
        """An `execute_tool {tool}` span around the call."""
        attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": call.name,
            "gen_ai.tool.call.id": call.id,
        }
        if self._capture:
            attributes["gen_ai.tool.call.arguments"] = content.tool_arguments(call)
        return self._span(
            f"execute_tool {call.name}", attributes, lambda span: _ToolSpan(span, self._capture)
        )

    def review(
        self, reviewer: str, kind: Literal["checks", "agent"]
    ) -> AbstractContextManager[Watch[bool]]:
        """`taskline.checks`, or the reviewer agent's `invoke_agent {reviewer}`."""
        if kind == "checks":
            return self._span("taskline.checks", {"taskline.review.kind": "checks"}, _ReviewSpan)
        attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": reviewer,
            "taskline.review.kind": "agent",
        }
        return self._span(f"invoke_agent {reviewer}", attributes, _ReviewSpan)

    def turn_ended(self, run: Run, seconds: float) -> None:
        """Turns are not spans: a turn is its chat span and the tool spans after it."""

    def moved(self, task: Task, from_status: Status, *, actor: str, reason: str) -> None:
        """A `taskline.transition` event on the task's execution span, if one is under way."""
        span = self._executions.get(task.id)
        if span is None:  # a move outside an execution: assigned, cancelled by hand
            return
        span.add_event(
            "taskline.transition",
            {
                "taskline.transition.from": from_status.value,
                "taskline.transition.to": task.status.value,
                "taskline.transition.actor": actor,
                "taskline.transition.reason": reason,
            },
        )

    def flush(self) -> None:
        """Send the spans the provider's processors hold (an SDK provider's; the API's
        own holds none)."""
        force_flush = getattr(self._provider, "force_flush", None)
        if force_flush is not None:
            force_flush()

    @contextmanager
    def _span(
        self,
        name: str,
        attributes: dict[str, AttributeValue],
        watch_of: Callable[[Span], W],
        *,
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> Iterator[W]:
        with self._tracer.start_as_current_span(name, kind=kind, attributes=attributes) as span:
            try:
                yield watch_of(span)
            except BaseException as exc:
                # The SDK records the exception; error.type is the convention's name for it.
                span.set_attribute("error.type", type(exc).__qualname__)
                if isinstance(exc, ResponseParseError) and exc.usage is not None:
                    # billed before its answer failed to parse: its tokens were spent
                    span.set_attributes(
                        {
                            "gen_ai.usage.input_tokens": exc.usage.input_tokens,
                            "gen_ai.usage.output_tokens": exc.usage.output_tokens,
                        }
                    )
                raise


def _remote(resumed: TraceContext) -> Context:
    """The context of a span that another process started (and a crash never ended)."""
    parent = SpanContext(
        trace_id=int(resumed.trace_id, 16),
        span_id=int(resumed.span_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))
