"""Progress events a run reports while it works, for live displays."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from taskline.lifecycle import Status
from taskline.llm.types import Message, ModelResponse, ToolCall
from taskline.models import Task
from taskline.protocols import Model, TaskWatch, Watch
from taskline.records import CallPurpose, Run, TraceContext
from taskline.tools.result import ToolResult

EventKind = Literal[
    "run_started", "model_call", "tool_call", "turn_finished", "review", "status", "run_ended"
]


@dataclass(frozen=True)
class ProgressEvent:
    """Where a run is: which turn, which tool, and what it has used so far."""

    kind: EventKind
    """What just happened."""
    task_id: str
    """The task."""
    run_number: int
    """Which run of the task."""
    turn: int
    """The current turn (0 before the first call)."""
    tokens: int
    """Input plus output tokens of the run so far."""
    cost_usd: Decimal | None
    """Cost of the run so far; None when a call was unpriced."""
    elapsed_seconds: float
    """Wall-clock time since the run started."""
    detail: str = ""
    """The tool being called, the new status, or the review verdict."""


OnEvent = Callable[[ProgressEvent], None]


def ignore(_event: ProgressEvent) -> None:
    """An `OnEvent` that does nothing."""


class _Unwatched:
    """A watch that keeps nothing."""

    trace: TraceContext | None = None

    def ended(self, result: Any) -> None:
        """Nothing to keep."""


class Unobserved:
    """An `Observer` that keeps nothing: the engine's default, and a process's when it
    exports no traces and serves no metrics."""

    _watch = _Unwatched()

    def task(
        self, task_id: str, *, resumed: TraceContext | None
    ) -> AbstractContextManager[TaskWatch]:
        """A watch with no trace."""
        return nullcontext(self._watch)

    def run(self, run: Run) -> AbstractContextManager[Watch[Run]]:
        """A watch that keeps nothing."""
        return nullcontext(self._watch)

    def model_call(
        self,
        model: Model,
        *,
        agent: str,
        purpose: CallPurpose,
        turn: int,
        messages: Sequence[Message],
    ) -> AbstractContextManager[Watch[ModelResponse]]:
        """A watch that keeps nothing."""
        return nullcontext(self._watch)

    def tool_call(self, call: ToolCall) -> AbstractContextManager[Watch[ToolResult]]:
        """A watch that keeps nothing."""
        return nullcontext(self._watch)

    def review(
        self, reviewer: str, kind: Literal["checks", "agent"]
    ) -> AbstractContextManager[Watch[bool]]:
        """A watch that keeps nothing."""
        return nullcontext(self._watch)

    def turn_ended(self, run: Run, seconds: float) -> None:
        """Nothing to keep."""

    def moved(self, task: Task, from_status: Status, *, actor: str, reason: str) -> None:
        """Nothing to keep."""

    def flush(self) -> None:
        """Nothing to send."""


UNOBSERVED = Unobserved()
