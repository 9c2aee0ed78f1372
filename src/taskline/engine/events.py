"""Progress events a run reports while it works, for live displays."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

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
