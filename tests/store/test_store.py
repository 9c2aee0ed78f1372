"""Agents, tasks, dependencies and audited events, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from taskline import (
    AlreadyExistsError,
    DependenciesNotMetError,
    IllegalTransitionError,
    InvalidValueError,
    NotFoundError,
    Status,
    Taskline,
)
from tests.lifecycle_paths import task_in


def test_task_round_trips_every_field(tl: Taskline) -> None:
    dep = task_in(tl, Status.COMPLETED)
    created = tl.create_task(
        "Ship it",
        description="All of it",
        type="feature",
        priority="high",
        criteria=["tests pass", "docs updated"],
        checks=["pytest -q"],
        expected_artifacts=["src/app.py"],
        depends_on=[dep],
        budget_usd="0.123456789012",
        max_turns=7,
        timeout_seconds=90.5,
        deadline=datetime(2026, 12, 1, 17, 0, tzinfo=UTC),
        reviewers=["reviewer"],
        human_review=True,
        max_rework=1,
        workspace="/srv/work",
    )
    stored = tl.get_task(created.id)
    assert stored == created
    assert stored.budget_usd == Decimal("0.123456789012")
    assert stored.deadline == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert stored.dependencies == (dep,)
    assert tl.list_tasks() == [tl.get_task(dep), stored]


def test_whole_dollar_budget_reads_back_plainly(tl: Taskline) -> None:
    task = tl.create_task("t", budget_usd="100.000")
    assert str(tl.get_task(task.id).budget_usd) == "100"


def test_list_filters_by_status(tl: Taskline) -> None:
    created = tl.create_task("a")
    assigned = task_in(tl, Status.ASSIGNED)
    assert [t.id for t in tl.list_tasks("assigned")] == [assigned]
    assert [t.id for t in tl.list_tasks(Status.CREATED)] == [created.id]
    assert tl.list_tasks(Status.FAILED) == []


def test_unknown_status_name_is_refused(tl: Taskline) -> None:
    with pytest.raises(
        InvalidValueError,
        match=(
            "^unknown status 'DONE'; expected one of CREATED, ASSIGNED, IN_PROGRESS, IN_REVIEW,"
            " COMPLETED, BLOCKED, CANCELLED, FAILED$"
        ),
    ):
        tl.list_tasks("DONE")


def test_unknown_dependency_is_refused_and_nothing_stored(tl: Taskline) -> None:
    with pytest.raises(InvalidValueError, match="^unknown dependency: NOPE$"):
        tl.create_task("t", depends_on=["NOPE"])
    assert tl.list_tasks() == []


def test_starting_before_dependencies_complete_is_refused(tl: Taskline) -> None:
    first = task_in(tl, Status.IN_REVIEW)
    second = task_in(tl, Status.COMPLETED)
    task = tl.create_task("after", depends_on=[first, second])
    tl.assign(task.id, "coder")
    with pytest.raises(DependenciesNotMetError) as caught:
        tl.move(task.id, Status.IN_PROGRESS)
    assert str(caught.value) == (
        f"cannot start task {task.id}: dependencies not COMPLETED: {first} (IN_REVIEW)"
    )
    assert caught.value.pending == ((first, "IN_REVIEW"),)
    assert tl.get_task(task.id).status is Status.ASSIGNED

    tl.move(first, Status.COMPLETED)
    assert tl.move(task.id, Status.IN_PROGRESS).status is Status.IN_PROGRESS


def test_reassigning_an_assigned_task_is_an_event_not_a_move(tl: Taskline) -> None:
    task_id = task_in(tl, Status.ASSIGNED)
    trail = tl.transitions(task_id)
    moved = tl.assign(task_id, "reviewer", reason="coder is busy")
    assert (moved.status, moved.assignee) == (Status.ASSIGNED, "reviewer")
    assert tl.transitions(task_id) == trail
    [event] = tl.events(task_id)
    assert (event.kind, event.actor, event.detail) == (
        "reassigned",
        "user:tester",
        {"from": "coder", "to": "reviewer", "reason": "coder is busy"},
    )
    # The same agent again changes nothing.
    tl.assign(task_id, "reviewer")
    assert len(tl.events(task_id)) == 1


def test_assign_to_unknown_agent_is_refused(tl: Taskline) -> None:
    task = tl.create_task("t")
    with pytest.raises(NotFoundError, match="^no agent 'ghost'$"):
        tl.assign(task.id, "ghost")
    assert tl.get_task(task.id).status is Status.CREATED
    assert len(tl.transitions(task.id)) == 1


def test_unblock_returns_to_assigned_with_the_same_agent(tl: Taskline) -> None:
    task_id = task_in(tl, Status.BLOCKED)
    task = tl.unblock(task_id, reason="API key arrived")
    assert (task.status, task.assignee) == (Status.ASSIGNED, "coder")
    assert tl.transitions(task_id)[-1].reason == "API key arrived"


def test_unblock_of_a_task_that_is_not_blocked_is_refused(tl: Taskline) -> None:
    task_id = task_in(tl, Status.FAILED)
    with pytest.raises(InvalidValueError, match=f"^task {task_id} is FAILED, not BLOCKED$"):
        tl.unblock(task_id)
    assert tl.get_task(task_id).status is Status.FAILED


def test_block_from_created_names_allowed_moves(tl: Taskline) -> None:
    task = tl.create_task("t")
    with pytest.raises(
        IllegalTransitionError,
        match=r"^cannot move task \w+ from CREATED to BLOCKED \(allowed from CREATED: ASSIGNED, CANCELLED\)$",
    ):
        tl.block(task.id)


def test_retry_after_failure_may_reassign(tl: Taskline) -> None:
    task_id = task_in(tl, Status.FAILED)
    task = tl.assign(task_id, "reviewer", reason="retry with another agent")
    assert (task.status, task.assignee) == (Status.ASSIGNED, "reviewer")


def test_duplicate_agent_is_refused(tl: Taskline) -> None:
    with pytest.raises(AlreadyExistsError, match="^agent 'coder' already exists$"):
        tl.add_agent("coder", model="openai:gpt-4o-mini")


def test_agent_round_trips(tl: Taskline) -> None:
    agent = tl.add_agent(
        "writer",
        model="anthropic:claude-sonnet-4-5",
        role="technical writer",
        instructions="Be brief.",
        skills=["docs"],
        tools=["read_file", "write_file"],
        budget_usd=Decimal("0.75"),
    )
    assert tl.get_agent("writer") == agent
    assert [a.name for a in tl.list_agents()] == ["coder", "reviewer", "writer"]


def test_unknown_task_and_agent(tl: Taskline) -> None:
    with pytest.raises(NotFoundError, match="^no task 'NOPE'$"):
        tl.get_task("NOPE")
    with pytest.raises(NotFoundError, match="^no task 'NOPE'$"):
        tl.move("NOPE", Status.CANCELLED)
    with pytest.raises(NotFoundError, match="^no task 'NOPE'$"):
        tl.transitions("NOPE")
    with pytest.raises(NotFoundError, match="^no agent 'ghost'$"):
        tl.get_agent("ghost")


def test_unknown_reviewer_is_refused(tl: Taskline) -> None:
    with pytest.raises(NotFoundError, match="^no agent 'ghost'$"):
        tl.create_task("t", reviewers=["ghost"])
    assert tl.list_tasks() == []
