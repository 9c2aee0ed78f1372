from __future__ import annotations

import re
from datetime import datetime

import pytest

from taskline import ids
from taskline.errors import InvalidValueError
from taskline.ids import ID_LENGTH, new_id
from taskline.models import Agent, Task, Transition, validated


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "   "}, "invalid task: title: must not be blank"),
        ({"title": "t", "budget_usd": "-1"}, "invalid task: budget_usd: must be greater than 0"),
        ({"title": "t", "budget_usd": "0"}, "invalid task: budget_usd: must be greater than 0"),
        (
            {"title": "t", "budget_usd": "lots"},
            "invalid task: budget_usd: Input should be a valid decimal",
        ),
        (
            {"title": "t", "budget_usd": "NaN"},
            "invalid task: budget_usd: Input should be a finite number",
        ),
        (
            {"title": "t", "max_turns": 0},
            "invalid task: max_turns: Input should be greater than or equal to 1",
        ),
        (
            {"title": "t", "timeout_seconds": -5},
            "invalid task: timeout_seconds: Input should be greater than 0",
        ),
        (
            {"id": "T1", "title": "t", "dependencies": ("T1",)},
            "invalid task: task T1 cannot depend on itself",
        ),
        (
            {"title": "t", "dependencies": ("A", "A")},
            "invalid task: dependencies: must not list a task twice",
        ),
        (
            {"title": "t", "priority": "asap"},
            "invalid task: priority: Input should be 'low', 'normal', 'high' or 'urgent'",
        ),
        (
            {"title": "t", "deadline": datetime(2026, 12, 1)},
            "invalid task: deadline: must include a timezone, e.g. 2026-12-01T17:00:00+00:00",
        ),
        (
            {"title": "t", "acceptance_criteria": ("ok", " ")},
            "invalid task: acceptance_criteria: must not be blank",
        ),
        ({"title": "x" * 201}, "invalid task: title: String should have at most 200 characters"),
    ],
)
def test_task_validation_messages(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        validated(Task, "task", **fields)
    assert str(caught.value) == message


def test_several_problems_are_reported_together() -> None:
    with pytest.raises(InvalidValueError) as caught:
        validated(Task, "task", title="", max_turns=0)
    assert str(caught.value) == (
        "invalid task: title: must not be blank;"
        " max_turns: Input should be greater than or equal to 1"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"name": "bad name", "model": "m"},
            "invalid agent: name: must be 1-64 letters, digits, '_', '.' or '-',"
            " starting with a letter or digit",
        ),
        ({"name": "a", "model": ""}, "invalid agent: model: must not be blank"),
        (
            {"name": "a", "model": "m", "budget_usd": "-0.01"},
            "invalid agent: budget_usd: must be greater than 0",
        ),
    ],
)
def test_agent_validation_messages(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        validated(Agent, "agent", **fields)
    assert str(caught.value) == message


def test_records_are_frozen() -> None:
    task = Task(title="t")
    with pytest.raises(ValueError, match="frozen"):
        task.title = "other"  # type: ignore[misc]


def test_title_is_stripped_and_dependencies_sorted() -> None:
    task = Task(title="  Fix it  ", dependencies=("B", "A"))
    assert (task.title, task.dependencies) == ("Fix it", ("A", "B"))


def test_transition_json_uses_from_and_to() -> None:
    transition = Transition(
        task_id="T", seq=2, from_status="CREATED", to_status="ASSIGNED",
        at=datetime.fromisoformat("2026-11-24T10:00:00+00:00"), actor="user:a", reason="r",
    )  # fmt: skip
    assert transition.model_dump(mode="json") == {
        "task_id": "T",
        "seq": 2,
        "from": "CREATED",
        "to": "ASSIGNED",
        "at": "2026-11-24T10:00:00Z",
        "actor": "user:a",
        "reason": "r",
    }


def test_ids_are_time_sortable_and_unique() -> None:
    first = new_id()
    assert len(first) == ID_LENGTH == 26
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", first)
    burst = [new_id() for _ in range(10_000)]  # many share a millisecond
    assert burst == sorted(burst)
    assert len(set(burst)) == 10_000
    assert first < burst[0]


def _millis(identifier: str) -> int:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    value = 0
    for char in identifier[:10]:
        value = value * 32 + alphabet.index(char)
    return value


def test_ids_carry_their_time_and_never_go_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # The ids made here are far in the future; the rest of the suite must not inherit that.
    monkeypatch.setattr(ids, "_last_value", ids._last_value)
    future = 4_000_000_000_000  # later than any id made so far, so its time part is kept
    made = new_id(now_ms=future)
    later = new_id(now_ms=future + 10)
    assert (_millis(made), _millis(later)) == (future, future + 10)
    # A clock that steps back still gives a greater id.
    assert new_id(now_ms=future - 5000) > later
