"""The seams of taskline, declared in one place.

Anything behind a seam can be swapped for another implementation (or a test
double built on the real thing) without patching.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, TypeVar

from taskline.ids import IdKind
from taskline.lifecycle import Status
from taskline.llm.types import Message, ModelResponse, ToolCall, ToolDefinition
from taskline.models import Agent, Task, TaskEvent, Transition
from taskline.records import (
    Artifact,
    CallPurpose,
    CostRecord,
    Review,
    Run,
    RunStatus,
    TaskMetrics,
    ToolCallRecord,
    TraceContext,
    Turn,
    Worker,
)
from taskline.reports import TaskRow
from taskline.tools.base import ToolContext
from taskline.tools.result import ToolResult

R = TypeVar("R")
T_contra = TypeVar("T_contra", contravariant=True)


class Store(Protocol):
    """Persistent agents, tasks and their audit trail; see `taskline.store.SqlStore`."""

    def add_agent(self, agent: Agent) -> Agent: ...
    def save_agent(self, agent: Agent) -> Agent: ...
    def get_agent(self, name: str) -> Agent: ...
    def list_agents(self) -> list[Agent]: ...
    def create_task(self, task: Task, *, actor: str, reason: str = "") -> Task: ...
    def get_task(self, task_id: str) -> Task: ...
    def ids_starting(self, kind: IdKind, prefix: str, *, limit: int) -> list[str]: ...
    def statuses_of(self, task_ids: Iterable[str]) -> dict[str, Status]: ...
    def list_tasks(self, status: Status | None = None) -> list[Task]: ...
    def count_tasks(self) -> dict[Status, int]: ...
    def transitions(self, task_id: str) -> list[Transition]: ...
    def events(self, task_id: str) -> list[TaskEvent]: ...
    def add_event(self, event: TaskEvent) -> TaskEvent: ...
    def move(
        self,
        task_id: str,
        target: Status,
        *,
        actor: str,
        reason: str = "",
        expected: Status | None = None,
        assignee: str | None = None,
        summary: str | None = None,
        failure_category: str | None = None,
        opening: Run | None = None,
        closing: Run | None = None,
        artifacts: Sequence[Artifact] = (),
        review: Review | None = None,
        measured: bool = False,
    ) -> Task: ...
    def reassign(self, task_id: str, agent: str, *, actor: str, reason: str = "") -> Task: ...
    def start_run(self, run: Run) -> Run: ...
    def end_run(
        self,
        run_id: str,
        status: RunStatus,
        *,
        ended_at: datetime,
        summary: str | None = None,
        failure_category: str | None = None,
        failure_message: str | None = None,
    ) -> Run: ...
    def get_run(self, run_id: str) -> Run: ...
    def list_runs(self, task_id: str) -> list[Run]: ...
    def add_turn(
        self, turn: Turn, calls: Sequence[ToolCallRecord], intent: CostRecord | None = None
    ) -> bool: ...
    def add_tool_call(self, call: ToolCallRecord) -> None: ...
    def turns(self, run_id: str) -> list[Turn]: ...
    def tool_calls(self, run_id: str) -> list[ToolCallRecord]: ...
    def add_cost_record(self, record: CostRecord) -> CostRecord: ...
    def find_cost_record(self, run_id: str, purpose: str, turn: int) -> CostRecord | None: ...
    def record_answer(self, record: CostRecord, *, replaced_lost: bool = False) -> CostRecord: ...
    def reissue(self, pending: CostRecord, intent: CostRecord) -> CostRecord: ...
    def drop_intent(self, record_id: str) -> None: ...
    def has_cost_records(self, run_id: str) -> bool: ...
    def cost_records(self, task_id: str | None = None) -> list[CostRecord]: ...
    def task_spend(self, task_id: str) -> tuple[Decimal, int]: ...
    def task_tokens(self, task_id: str) -> int: ...
    def add_artifacts(self, changes: Sequence[Artifact]) -> None: ...
    def artifacts(self, task_id: str) -> list[Artifact]: ...
    def add_review(self, review: Review) -> Review: ...
    def reviews(self, task_id: str) -> list[Review]: ...
    def save_metrics(self, metrics: TaskMetrics) -> TaskMetrics: ...
    def get_metrics(self, task_id: str) -> TaskMetrics | None: ...
    def list_metrics(self) -> list[TaskMetrics]: ...
    def heartbeat(self, worker_id: str) -> None: ...
    def stop_worker(self, worker_id: str) -> None: ...
    def workers(self) -> list[Worker]: ...
    def claim_silent_workers(self, claimant: str, silent_since: datetime) -> list[str]: ...
    def close(self) -> None: ...
    @property
    def url(self) -> str: ...
    def page_tasks(
        self,
        *,
        limit: int,
        offset: int = 0,
        after: str | None = None,
        newest_first: bool = False,
        status: Status | None = None,
        assignee: str | None = None,
    ) -> tuple[list[Task], int]: ...
    def page_metrics(
        self,
        *,
        limit: int | None,
        offset: int = 0,
        after: str | None = None,
        newest_first: bool = False,
    ) -> tuple[list[tuple[TaskRow, datetime]], int]: ...
    def metrics_report(self) -> dict[str, Any]: ...


class Model(Protocol):
    """A language model: messages and tool definitions in, one answer out.

    Implementations: `taskline.llm.openai_compat.OpenAICompatModel`,
    `taskline.llm.anthropic.AnthropicModel`, `taskline.llm.local.LocalModel` and
    `taskline.llm.scripted.ScriptedModel`; `taskline.llm.resolve_model` picks one
    from a reference such as `openai:gpt-4o-mini`.
    """

    @property
    def provider(self) -> str:
        """Who serves the model: `openai`, `anthropic`, `local`, `scripted` or an endpoint name."""
        ...

    @property
    def model(self) -> str:
        """The model's name at that provider."""
        ...

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition] = ()
    ) -> ModelResponse:
        """The model's answer to `messages`, given that it may call `tools`.

        Raises `ProviderError` when the call fails after its retries, and its
        subclass `ResponseParseError`, which carries the usage, when the call
        was billed but its answer could not be read.
        """
        ...

    async def aclose(self) -> None:
        """Release connections; the model is not used afterwards."""
        ...


class Tool(Protocol):
    """Something an agent can call while it works: a name, a JSON Schema, and `run`.

    The built-in tools are `taskline.tools.BUILTIN_TOOLS`; `taskline.tools.builtin_tools`
    picks an agent's, and `taskline.tools.run_tool_calls` runs a turn's calls.
    """

    @property
    def name(self) -> str:
        """Name the model calls it by."""
        ...

    @property
    def description(self) -> str:
        """What the tool does and when to use it, written for the model."""
        ...

    @property
    def parameters(self) -> dict[str, Any]:
        """JSON Schema of the arguments: an object schema."""
        ...

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolResult:
        """Run with `arguments` in `context`.

        Every problem (invalid arguments, a path outside the workspace, a
        failing command, an OSError) comes back as a result with `is_error`
        set, never as an exception.
        """
        ...


class Steps(Protocol):
    """Runs the steps of a task's execution; see `taskline.engine.steps.InlineSteps` and
    `taskline.durable.DbosSteps`.

    A step's result may be recorded and returned again instead of running it twice,
    so a step must be a whole unit: its effects done, its result returned.
    """

    @property
    def replays(self) -> bool:
        """Whether a step may run again after a crash that came after its work and before
        its checkpoint: the step must then know its own work (`Executor._replayed`)."""
        ...

    async def run(self, name: str, fn: Callable[..., Coroutine[Any, Any, R]], *args: Any) -> R:
        """Run the coroutine function `fn(*args)` as the step `name`."""
        ...

    async def call(self, name: str, fn: Callable[..., R], *args: Any) -> R:
        """Run the plain function `fn(*args)` as the step `name`."""
        ...

    async def unrecorded(
        self, name: str, fn: Callable[..., Coroutine[Any, Any, R]], *args: Any
    ) -> R:
        """Await `fn(*args)` without a checkpoint: its own store records (a cost record, a
        tool call's row) are what a resumed run replays it from."""
        ...


class Watch(Protocol[T_contra]):
    """One thing an `Observer` watches (a call, a tool, a run), told how it ended. A watch
    left by an exception is told nothing: its observer sees the exception instead."""

    def ended(self, result: T_contra) -> None:
        """The thing ended with `result`."""
        ...


class TaskWatch(Watch[Task], Protocol):
    """One execution of a task (a run with its review and rework, or a person's verdict)."""

    @property
    def trace(self) -> TraceContext | None:
        """Where the execution's spans hang, stored with each run it opens; None when no
        trace is recorded."""
        ...


class Observer(Protocol):
    """Where the engine reports what it does, for traces and metrics; see
    `taskline.observability`. Every call is cheap and none may raise: telemetry must never
    stop a run. Replayed steps (a run resumed after a crash) are not reported again."""

    def task(
        self, task_id: str, *, resumed: TraceContext | None
    ) -> AbstractContextManager[TaskWatch]:
        """Watch one execution of the task; `resumed` is the trace of the execution a crash
        cut short, which this one joins."""
        ...

    def run(self, run: Run) -> AbstractContextManager[Watch[Run]]:
        """Watch the agent working on `run`; told the run as it ended (status, failure)."""
        ...

    def model_call(
        self,
        model: Model,
        *,
        agent: str,
        purpose: CallPurpose,
        turn: int,
        messages: Sequence[Message],
    ) -> AbstractContextManager[Watch[ModelResponse]]:
        """Watch one call sent to `model` (not one replayed from its record)."""
        ...

    def tool_call(self, call: ToolCall) -> AbstractContextManager[Watch[ToolResult]]:
        """Watch one tool call being run (not one replayed from its row)."""
        ...

    def review(
        self, reviewer: str, kind: Literal["checks", "agent"]
    ) -> AbstractContextManager[Watch[bool]]:
        """Watch one review of the work: the task's checks, or a reviewer agent; told
        whether it approved."""
        ...

    def turn_ended(self, run: Run, seconds: float) -> None:
        """A turn of `run` (its model call and tools) took `seconds`."""
        ...

    def moved(self, task: Task, from_status: Status, *, actor: str, reason: str) -> None:
        """`task` moved from `from_status` to its status (stored just now, not replayed)."""
        ...

    def flush(self) -> None:
        """Send what is kept to be sent (spans in a batch): the process may end soon."""
        ...
