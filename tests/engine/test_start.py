"""A run's start refuses a task that moved after its caller checked it (a queued run, a
lost race): the moves alone would let a task in review be taken back into work."""

from __future__ import annotations

import asyncio

import pytest

from taskline import Status, Taskline
from taskline.engine.artifacts import Snapshot
from taskline.engine.steps import InlineSteps
from taskline.errors import InvalidValueError
from taskline.ids import new_id
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


class ReplayingSteps(InlineSteps):
    """Steps run at once, as by a durable runner: one whose start may be a replay."""

    replays = True


def test_a_durable_start_replays_its_own_run_and_refuses_another_runners(tl: Taskline) -> None:
    task_id = task_in(tl, Status.ASSIGNED)
    executor = tl.executor(steps=ReplayingSteps())
    mine, theirs = new_id(), new_id()

    task, run, before = executor._start(task_id, mine, None)
    again = executor._start(task_id, mine, None)  # the step replayed after a crash
    with pytest.raises(InvalidValueError) as refused:
        executor._start(task_id, theirs, None)  # a second workflow of the task, racing

    assert (task.status, run.id, run.number) == (Status.IN_PROGRESS, mine, 1)
    assert again == (tl.get_task(task_id), run, again[2])
    assert isinstance(before, Snapshot)
    assert isinstance(again[2], Snapshot)
    assert again[2].files == before.files == {}  # the same empty workspace
    assert str(refused.value) == (
        f"task {task_id} is IN_PROGRESS; only an ASSIGNED or FAILED task can be run"
    )
    assert [r.id for r in tl.runs(task_id)] == [mine]
