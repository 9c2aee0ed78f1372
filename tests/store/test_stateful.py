"""Random walks over the lifecycle: the store never disagrees with the table."""

from __future__ import annotations

from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from taskline import IllegalTransitionError, InvalidValueError, Status, Taskline
from taskline.lifecycle import INITIAL, TERMINAL, TRANSITIONS

AGENTS = ("coder", "reviewer")


class Lifecycle(RuleBasedStateMachine):
    """Drives random moves and assignments, tracking what the table says must follow."""

    tl: ClassVar[Taskline]

    def __init__(self) -> None:
        super().__init__()
        self.expected: dict[str, Status] = {}
        self.assignee: dict[str, str | None] = {}

    def _pick(self, data: st.DataObject) -> str | None:
        return data.draw(st.sampled_from(sorted(self.expected))) if self.expected else None

    @rule()
    def create(self) -> None:
        task = self.tl.create_task("random walk")
        self.expected[task.id] = INITIAL
        self.assignee[task.id] = None

    @rule(data=st.data(), status=st.sampled_from(list(Status)))
    def move(self, data: st.DataObject, status: Status) -> None:
        task_id = self._pick(data)
        if task_id is None:
            return
        allowed = status in TRANSITIONS[self.expected[task_id]]
        if not allowed:
            with pytest.raises(IllegalTransitionError):
                self.tl.move(task_id, status)
        elif status is Status.ASSIGNED and self.assignee[task_id] is None:
            with pytest.raises(InvalidValueError, match="has no assignee"):
                self.tl.move(task_id, status)
        else:
            assert self.tl.move(task_id, status).status is status
            self.expected[task_id] = status

    @rule(data=st.data(), agent=st.sampled_from(AGENTS))
    def assign(self, data: st.DataObject, agent: str) -> None:
        task_id = self._pick(data)
        if task_id is None:
            return
        current = self.expected[task_id]
        if current is Status.ASSIGNED or Status.ASSIGNED in TRANSITIONS[current]:
            task = self.tl.assign(task_id, agent)
            assert (task.status, task.assignee) == (Status.ASSIGNED, agent)
            self.expected[task_id] = Status.ASSIGNED
            self.assignee[task_id] = agent
        else:
            with pytest.raises(IllegalTransitionError):
                self.tl.assign(task_id, agent)

    @invariant()
    def store_agrees_with_table(self) -> None:
        for task_id, status in self.expected.items():
            task = self.tl.get_task(task_id)
            assert (task.status, task.assignee) == (status, self.assignee[task_id])
            trail = self.tl.transitions(task_id)
            assert [t.seq for t in trail] == list(range(1, len(trail) + 1))
            assert (trail[0].from_status, trail[0].to_status) == (None, INITIAL)
            for before, after in zip(trail, trail[1:], strict=False):
                assert after.from_status is before.to_status
                assert after.to_status in TRANSITIONS[before.to_status]
                assert before.to_status not in TERMINAL
            assert trail[-1].to_status is status


def test_random_moves_agree_with_the_table(tl: Taskline) -> None:
    Lifecycle.tl = tl
    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
