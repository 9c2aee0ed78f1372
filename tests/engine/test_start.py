"""A run's start refuses a task that moved after its caller checked it (a queued run, a
lost race): the moves alone would let a task in review be taken back into work."""

from __future__ import annotations

import asyncio

import pytest

from taskline import Status, Taskline
from taskline.errors import InvalidValueError
from tests.lifecycle_paths import task_in


@pytest.mark.parametrize("status", [Status.IN_REVIEW, Status.IN_PROGRESS, Status.CANCELLED])
def test_a_task_that_moved_since_it_was_checked_is_refused_and_left_as_it_is(
    tl: Taskline, status: Status
) -> None:
    task_id = task_in(tl, status)
    trail = tl.transitions(task_id)

    with pytest.raises(InvalidValueError) as refused:
        asyncio.run(tl.executor().run_task(task_id))

    assert str(refused.value) == (
        f"task {task_id} is {status.value}; only an ASSIGNED or FAILED task can be run"
    )
    assert tl.transitions(task_id) == trail
    assert tl.runs(task_id) == []
