"""Every one of the 64 (from, to) pairs against the table, through the library."""

from __future__ import annotations

import itertools

import pytest

from taskline import IllegalTransitionError, Status, Taskline
from taskline.lifecycle import TRANSITIONS, allowed_targets
from tests.lifecycle_paths import task_in

PAIRS = list(itertools.product(Status, Status))


def test_there_are_64_pairs() -> None:
    assert len(PAIRS) == 64


@pytest.mark.parametrize(("current", "target"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_pair(tl: Taskline, current: Status, target: Status) -> None:
    task_id = task_in(tl, current)
    trail_before = tl.transitions(task_id)

    if target in TRANSITIONS[current]:
        assignee = "coder" if target is Status.ASSIGNED else None
        moved = tl.move(task_id, target, reason="pair test", assignee=assignee)
        assert moved.status is target
        assert tl.get_task(task_id).status is target
        trail = tl.transitions(task_id)
        assert len(trail) == len(trail_before) + 1
        last = trail[-1]
        assert (last.from_status, last.to_status, last.actor, last.reason) == (
            current,
            target,
            "user:tester",
            "pair test",
        )
    else:
        with pytest.raises(IllegalTransitionError) as caught:
            tl.move(task_id, target)
        allowed = ", ".join(s.value for s in allowed_targets(current))
        why = (
            f"allowed from {current}: {allowed}"
            if allowed
            else (f"{current} is terminal, no moves are allowed")
        )
        assert str(caught.value) == (
            f"cannot move task {task_id} from {current} to {target} ({why})"
        )
        assert tl.get_task(task_id).status is current
        assert tl.transitions(task_id) == trail_before
