"""The event stream: follows a run started anywhere, ends when the task does or waits for a person."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from taskline import Status, Task, Taskline
from taskline.api.stream import waiting_for_person
from taskline.protocols import Model
from taskline.records import Review
from tests.api.helpers import Event, PacedModel, greeting, parse_events


def assigned_task(client: TestClient, **fields: object) -> str:
    task_id: str = client.post("/api/tasks", json={"title": "Greet", **fields}).json()["id"]
    client.post(f"/api/tasks/{task_id}/assign", json={"agent": "coder"})
    return task_id


def paced(served: Taskline, delay_seconds: float) -> None:
    def factory(_ref: str) -> Model:
        return PacedModel(greeting(), delay_seconds)

    served.model_factory = factory


def kinds(events: list[Event]) -> list[tuple[str, object]]:
    keys = {"transition": "to", "run": "status", "turn": "number", "cost": "turn", "end": "reason"}
    return [(e.kind, e.data.get(keys.get(e.kind, "kind"))) for e in events]


def test_a_run_started_elsewhere_is_followed_live(client: TestClient, served: Taskline) -> None:
    paced(served, 0.3)
    task_id = assigned_task(client)
    worker = threading.Thread(target=served.run_task, args=(task_id,))  # as `taskline task run`

    with client.stream("GET", f"/api/tasks/{task_id}/stream") as response:
        lines = response.iter_lines()
        head = [next(lines)]
        while head.count("") < 2:  # the CREATED and ASSIGNED transitions
            head.append(next(lines))
        worker.start()
        events = parse_events([*head, *lines])
    worker.join()

    seen = kinds(events)
    assert seen[:2] == [("transition", "CREATED"), ("transition", "ASSIGNED")]
    assert seen[-1] == ("end", "finished")
    assert sorted(seen[2:-1], key=str) == sorted(
        [
            ("transition", "IN_PROGRESS"), ("transition", "IN_REVIEW"), ("transition", "COMPLETED"),
            ("run", "running"), ("run", "submitted"), ("turn", 1), ("turn", 2), ("cost", 1),
            ("cost", 2), ("review", None),
        ],
        key=str,
    )  # fmt: skip
    assert [e.data["seq"] for e in events if e.kind == "transition"] == [1, 2, 3, 4, 5]
    [turn_two] = [e.data for e in events if e.kind == "turn" and e.data["number"] == 2]
    assert (turn_two["run_number"], [c["name"] for c in turn_two["tool_calls"]]) == (
        1, ["submit_work"],
    )  # fmt: skip


def test_a_run_started_here_also_reports_its_progress(client: TestClient, served: Taskline) -> None:
    paced(served, 0.4)
    task_id = assigned_task(client)

    client.post(f"/api/tasks/{task_id}/run")
    with client.stream("GET", f"/api/tasks/{task_id}/stream") as response:
        events = parse_events(response.iter_lines())

    progress = [e.data for e in events if e.kind == "progress"]
    assert progress, kinds(events)
    assert set(progress[0]) == {
        "kind", "run_number", "turn", "tokens", "cost_usd", "elapsed_seconds", "detail",
    }  # fmt: skip
    assert {p["kind"] for p in progress} <= {"model_call", "tool_call", "turn_finished"}
    assert events[-1].data == {"status": "COMPLETED", "reason": "finished"}


def test_a_quiet_task_ends_at_the_time_limit(client: TestClient) -> None:
    task_id = assigned_task(client)

    with client.stream("GET", f"/api/tasks/{task_id}/stream?max_seconds=0.2") as response:
        events = parse_events(response.iter_lines())

    assert kinds(events) == [
        ("transition", "CREATED"), ("transition", "ASSIGNED"), ("end", "time_limit"),
    ]  # fmt: skip
    assert events[-1].data == {"status": "ASSIGNED", "reason": "time_limit"}


def test_waiting_for_a_person_means_the_automated_reviews_are_done() -> None:
    task = Task(
        title="t", checks=("true",), reviewers=("critic",), human_review=True,
        status=Status.IN_REVIEW,
    )  # fmt: skip

    def review(reviewer: str, run_id: str = "r2", approved: bool = True) -> Review:
        return Review(task_id=task.id, run_id=run_id, reviewer=reviewer, approved=approved)

    assert not waiting_for_person(task, [], "r2")
    assert not waiting_for_person(task, [review("checks")], "r2")
    assert not waiting_for_person(task, [review("checks"), review("agent:critic", "r1")], "r2")
    assert waiting_for_person(task, [review("checks"), review("agent:critic")], "r2")
    assert not waiting_for_person(
        task.model_copy(update={"human_review": False}), [review("checks")], "r2"
    )
    assert not waiting_for_person(task.model_copy(update={"status": Status.COMPLETED}), [], None)
