from __future__ import annotations

import pytest

from taskline.errors import IllegalTransitionError
from taskline.lifecycle import (
    INITIAL,
    TERMINAL,
    TRANSITIONS,
    Status,
    allowed_targets,
    check_transition,
    validate_table,
)

S = Status


def test_table_is_exactly_the_design() -> None:
    assert dict(TRANSITIONS) == {
        S.CREATED: {S.ASSIGNED, S.CANCELLED},
        S.ASSIGNED: {S.IN_PROGRESS, S.BLOCKED, S.CANCELLED},
        S.IN_PROGRESS: {S.IN_REVIEW, S.BLOCKED, S.CANCELLED, S.FAILED},
        S.IN_REVIEW: {S.COMPLETED, S.IN_PROGRESS, S.BLOCKED, S.CANCELLED, S.FAILED},
        S.BLOCKED: {S.ASSIGNED, S.CANCELLED},
        S.FAILED: {S.ASSIGNED, S.CANCELLED},
        S.COMPLETED: set(),
        S.CANCELLED: set(),
    }
    assert INITIAL is S.CREATED
    assert TERMINAL == {S.COMPLETED, S.CANCELLED}


def test_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[S.COMPLETED] = frozenset({S.ASSIGNED})  # type: ignore[index]


def test_allowed_targets_follow_lifecycle_order() -> None:
    assert allowed_targets(S.IN_REVIEW) == (
        S.IN_PROGRESS,
        S.COMPLETED,
        S.BLOCKED,
        S.CANCELLED,
        S.FAILED,
    )
    assert allowed_targets(S.COMPLETED) == ()


def test_illegal_move_names_task_statuses_and_allowed_targets() -> None:
    with pytest.raises(IllegalTransitionError) as caught:
        check_transition("T1", S.CREATED, S.COMPLETED)
    error = caught.value
    assert str(error) == (
        "cannot move task T1 from CREATED to COMPLETED (allowed from CREATED: ASSIGNED, CANCELLED)"
    )
    assert (error.task_id, error.current, error.requested, error.allowed) == (
        "T1",
        "CREATED",
        "COMPLETED",
        ("ASSIGNED", "CANCELLED"),
    )


def test_move_out_of_terminal_status_says_it_is_terminal() -> None:
    with pytest.raises(IllegalTransitionError) as caught:
        check_transition("T1", S.CANCELLED, S.ASSIGNED)
    assert str(caught.value) == (
        "cannot move task T1 from CANCELLED to ASSIGNED (CANCELLED is terminal, no moves are allowed)"
    )
    assert caught.value.allowed == ()


def _table_with(**changes: set[Status]) -> dict[Status, frozenset[Status]]:
    table = dict(TRANSITIONS)
    for name, targets in changes.items():
        table[Status(name)] = frozenset(targets)
    return table


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {s: t for s, t in TRANSITIONS.items() if s is not S.BLOCKED},
            "transition table has no row for BLOCKED",
        ),
        (_table_with(ASSIGNED={S.ASSIGNED}), "transition table lets ASSIGNED move to itself"),
        (
            _table_with(COMPLETED={S.ASSIGNED}),
            "terminal status COMPLETED has moves in the transition table",
        ),
        (_table_with(FAILED=set()), "non-terminal status FAILED has no moves"),
        (
            _table_with(
                ASSIGNED={S.IN_PROGRESS, S.CANCELLED},
                IN_PROGRESS={S.IN_REVIEW, S.FAILED},
                IN_REVIEW={S.COMPLETED, S.FAILED},
            ),
            "transition table leaves BLOCKED unreachable from CREATED",
        ),
        (
            _table_with(IN_REVIEW={S.FAILED}, FAILED={S.IN_REVIEW}, IN_PROGRESS={S.IN_REVIEW}),
            "transition table leaves COMPLETED unreachable from CREATED",
        ),
    ],
)
def test_broken_tables_are_refused(table: dict[Status, frozenset[Status]], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        validate_table(table, INITIAL, TERMINAL)


def test_dead_end_is_refused() -> None:
    # FAILED and BLOCKED only lead to each other: no way out to a terminal status.
    table = _table_with(
        IN_PROGRESS={S.IN_REVIEW, S.FAILED, S.CANCELLED},
        IN_REVIEW={S.COMPLETED, S.FAILED},
        FAILED={S.BLOCKED},
        BLOCKED={S.FAILED},
        ASSIGNED={S.IN_PROGRESS, S.BLOCKED},
    )
    with pytest.raises(
        ValueError, match="^transition table lets BLOCKED, FAILED never reach a terminal status$"
    ):
        validate_table(table, INITIAL, TERMINAL)
