"""The task lifecycle: its statuses and the one table every status change follows.

The table is checked when this module is imported, so a broken edit to it fails
at once instead of stranding tasks at run time: every status has a row, terminal
rows are empty, every status is reachable from CREATED and every non-terminal
status can reach a terminal one.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from taskline.errors import IllegalTransitionError


class Status(StrEnum):
    """Where a task is in its lifecycle."""

    CREATED = "CREATED"
    ASSIGNED = "ASSIGNED"
    IN_PROGRESS = "IN_PROGRESS"
    IN_REVIEW = "IN_REVIEW"
    COMPLETED = "COMPLETED"
    BLOCKED = "BLOCKED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"


S = Status

TRANSITIONS: Mapping[Status, frozenset[Status]] = MappingProxyType(
    {
        S.CREATED: frozenset({S.ASSIGNED, S.CANCELLED}),
        S.ASSIGNED: frozenset({S.IN_PROGRESS, S.BLOCKED, S.CANCELLED}),
        S.IN_PROGRESS: frozenset({S.IN_REVIEW, S.BLOCKED, S.CANCELLED, S.FAILED}),
        # IN_REVIEW -> IN_PROGRESS is rework after a rejected review.
        S.IN_REVIEW: frozenset({S.COMPLETED, S.IN_PROGRESS, S.BLOCKED, S.CANCELLED, S.FAILED}),
        S.BLOCKED: frozenset({S.ASSIGNED, S.CANCELLED}),
        # FAILED -> ASSIGNED is a retry, or a reassignment to another agent.
        S.FAILED: frozenset({S.ASSIGNED, S.CANCELLED}),
        S.COMPLETED: frozenset(),
        S.CANCELLED: frozenset(),
    }
)
"""Every allowed move: a status maps to the statuses it may move to."""

INITIAL = Status.CREATED
"""The status every task starts in."""

TERMINAL: frozenset[Status] = frozenset({S.COMPLETED, S.CANCELLED})
"""Statuses a task never leaves."""

ENDED: frozenset[Status] = TERMINAL | {S.FAILED}
"""Statuses in which no run goes on and none starts by itself: the terminal ones, and
FAILED, which waits for someone to retry. A task's event stream ends there, and the
dashboard counts these tasks as finished."""

# The order statuses are listed in everywhere (CLI, errors, dashboard).
ORDER: tuple[Status, ...] = tuple(Status)


def allowed_targets(current: Status) -> tuple[Status, ...]:
    """The statuses a task in `current` may move to, in lifecycle order."""
    return tuple(s for s in ORDER if s in TRANSITIONS[current])


def is_allowed(current: Status, target: Status) -> bool:
    """Whether the table allows moving from `current` to `target`."""
    return target in TRANSITIONS[current]


def check_transition(task_id: str, current: Status, target: Status) -> None:
    """Raise `IllegalTransitionError` unless the table allows `current` -> `target`."""
    if not is_allowed(current, target):
        raise IllegalTransitionError(
            task_id=task_id,
            current=current.value,
            requested=target.value,
            allowed=tuple(s.value for s in allowed_targets(current)),
        )


def _reachable(start: Status, edges: Mapping[Status, frozenset[Status]]) -> set[Status]:
    seen = {start}
    frontier = [start]
    while frontier:
        for nxt in edges[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


def validate_table(
    table: Mapping[Status, frozenset[Status]], initial: Status, terminal: frozenset[Status]
) -> None:
    """Raise `ValueError` naming the first thing wrong with a transition table."""
    missing = [s.value for s in ORDER if s not in table]
    if missing:
        raise ValueError(f"transition table has no row for {', '.join(missing)}")
    for status in ORDER:
        targets = table[status]
        if status in targets:
            raise ValueError(f"transition table lets {status.value} move to itself")
        if status in terminal and targets:
            raise ValueError(f"terminal status {status.value} has moves in the transition table")
        if status not in terminal and not targets:
            raise ValueError(f"non-terminal status {status.value} has no moves")
    unreachable = [s.value for s in ORDER if s not in _reachable(initial, table)]
    if unreachable:
        raise ValueError(
            f"transition table leaves {', '.join(unreachable)} unreachable from {initial.value}"
        )
    dead_ends = [s.value for s in ORDER if not (_reachable(s, table) & terminal)]
    if dead_ends:
        raise ValueError(
            f"transition table lets {', '.join(dead_ends)} never reach a terminal status"
        )


validate_table(TRANSITIONS, INITIAL, TERMINAL)
