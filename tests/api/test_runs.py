"""Runs started through the API, reviews, and what they leave: turns, costs, artifacts, metrics."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from fastapi.testclient import TestClient

from taskline import Status, Taskline
from taskline.costs import total
from taskline.llm.scripted import ScriptedModel
from taskline.protocols import Model
from taskline.reports import metrics_report
from taskline.views import TaskDetailView
from tests.api.helpers import Event, greeting, parse_events

HELLO = b"hello world\n"


def assigned_task(client: TestClient, **fields: object) -> str:
    task_id: str = client.post("/api/tasks", json={"title": "Greet", **fields}).json()["id"]
    client.post(f"/api/tasks/{task_id}/assign", json={"agent": "coder"})
    return task_id


def follow(client: TestClient, task_id: str) -> list[Event]:
    """The task's events until the stream ends."""
    with client.stream("GET", f"/api/tasks/{task_id}/stream") as response:
        assert response.status_code == 200
        return parse_events(response.iter_lines())


def test_a_run_is_202_and_goes_on_to_completed(client: TestClient, served: Taskline) -> None:
    task_id = assigned_task(client, checks=["grep -q hello hello.txt"])

    started = client.post(f"/api/tasks/{task_id}/run")
    events = follow(client, task_id)

    # The 202 shows the task as it is when the answer is written: the run goes on
    # meanwhile, and a short one may be past IN_PROGRESS already.
    assert started.status_code == 202
    assert started.json()["status"] in {"IN_PROGRESS", "IN_REVIEW", "COMPLETED"}
    assert events[-1].data == {"status": "COMPLETED", "reason": "finished"}
    done = served.get_task(task_id)
    assert (done.status, done.summary) == (Status.COMPLETED, "Wrote hello.txt.")
    trail = [(t.to_status, t.actor) for t in served.transitions(task_id)]
    assert trail[2:] == [
        (Status.IN_PROGRESS, "system"),
        (Status.IN_REVIEW, "agent:coder"),
        (Status.COMPLETED, "checks"),
    ]


def test_runs_turns_costs_and_metrics_are_what_the_cli_shows(
    client: TestClient, served: Taskline
) -> None:
    task_id = assigned_task(client)
    client.post(f"/api/tasks/{task_id}/run")
    follow(client, task_id)
    detail = TaskDetailView.of_detail(
        served.get_task(task_id), served.transitions(task_id), served.events(task_id),
        served.detail(task_id),
    ).model_dump(mode="json")  # fmt: skip
    records = served.cost_records(task_id)

    runs = client.get(f"/api/tasks/{task_id}/runs").json()
    one_run = client.get(f"/api/runs/{runs[0]['id']}").json()
    costs = client.get("/api/costs", params={"task": task_id}).json()
    metrics = client.get(f"/api/tasks/{task_id}/metrics").json()

    assert runs == detail["runs"]
    assert one_run == runs[0]
    assert [call["name"] for turn in runs[0]["turns"] for call in turn["tool_calls"]] == [
        "write_file", "submit_work",
    ]  # fmt: skip
    assert costs == {
        "records": [r.model_dump(mode="json") for r in records],
        "totals": total(records).model_dump(mode="json"),
    }
    assert (costs["totals"]["calls"], costs["totals"]["cost_usd"]) == (2, 0.002)
    stored = served.metrics(task_id)
    assert stored is not None
    assert metrics == stored.model_dump(mode="json")
    assert (metrics["turns_per_task"], metrics["tokens_per_task"], metrics["cost_per_task"]) == (
        2, 240, 0.002,
    )  # fmt: skip
    assert client.get("/api/costs").json()["totals"]["calls"] == 2


def test_metrics_across_tasks(client: TestClient, served: Taskline) -> None:
    for _ in range(2):
        task_id = assigned_task(client)
        client.post(f"/api/tasks/{task_id}/run")
        follow(client, task_id)

    report = client.get("/api/metrics").json()
    rows = client.get("/api/metrics/tasks").json()

    assert report == metrics_report(served.metrics_rows())
    assert report["by_agent"]["coder"]["tasks"] == 2
    assert [(r["agent"], r["model"], r["turns_per_task"], r["cost_per_task"]) for r in rows] == [
        ("coder", "scripted:none", 2, 0.002),
        ("coder", "scripted:none", 2, 0.002),
    ]
    stored = {m.task_id: m.updated_at for m in served.store.list_metrics()}
    assert {r["task_id"]: r["finished_at"] for r in rows} == {
        task_id: at.isoformat() for task_id, at in stored.items()
    }


def test_artifacts_are_listed_downloaded_and_previewed(client: TestClient) -> None:
    task_id = assigned_task(client)
    client.post(f"/api/tasks/{task_id}/run")
    follow(client, task_id)

    [artifact] = client.get(f"/api/tasks/{task_id}/artifacts").json()
    where = {"run_id": artifact["run_id"], "path": "hello.txt"}
    content = client.get(f"/api/tasks/{task_id}/artifacts/content", params=where)
    preview = client.get(f"/api/tasks/{task_id}/artifacts/preview", params=where).json()
    missing = client.get(
        f"/api/tasks/{task_id}/artifacts/content", params={**where, "path": "nope.txt"}
    )

    assert artifact == {
        "run_id": artifact["run_id"], "path": "hello.txt", "change": "created",
        "size": len(HELLO), "sha256": hashlib.sha256(HELLO).hexdigest(),
    }  # fmt: skip
    assert content.content == HELLO
    assert content.headers["content-disposition"] == "attachment; filename*=UTF-8''hello.txt"
    assert preview == {
        "path": "hello.txt", "run_id": artifact["run_id"], "change": "created", "size": 12,
        "kept": True, "binary": False, "text": "hello world\n", "truncated": False,
        "diff": "--- /dev/null\n+++ b/hello.txt\n@@ -0,0 +1 @@\n+hello world\n",
    }  # fmt: skip
    assert (missing.status_code, missing.json()) == (
        404, {"detail": f"no artifact 'nope.txt of run {artifact['run_id']}'"}
    )  # fmt: skip


def test_human_review_reject_then_approve(client: TestClient, served: Taskline) -> None:
    answers = iter([greeting(), greeting("hello again\n", "Said hello again.")])

    def factory(_ref: str) -> Model:
        return ScriptedModel(next(answers))

    served.model_factory = factory
    task_id = assigned_task(client, human_review=True)
    client.post(f"/api/tasks/{task_id}/run")
    first = follow(client, task_id)

    rejected = client.post(f"/api/tasks/{task_id}/review/reject", json={"feedback": "Louder."})
    second = follow(client, task_id)
    [_, rework] = client.get(f"/api/tasks/{task_id}/artifacts").json()
    diff = client.get(
        f"/api/tasks/{task_id}/artifacts/preview",
        params={"run_id": rework["run_id"], "path": "hello.txt"},
    ).json()["diff"]
    approved = client.post(f"/api/tasks/{task_id}/review/approve", json={"feedback": "Good."})

    assert first[-1].data == {"status": "IN_REVIEW", "reason": "waiting_for_review"}
    assert (rejected.status_code, rejected.json()["status"]) == (202, "IN_PROGRESS")
    assert second[-1].data == {"status": "IN_REVIEW", "reason": "waiting_for_review"}
    assert rework["change"] == "modified"
    assert diff == "--- a/hello.txt\n+++ b/hello.txt\n@@ -1 +1 @@\n-hello world\n+hello again\n"
    assert (approved.status_code, approved.json()["status"]) == (200, "COMPLETED")
    reviews = [(r.reviewer, r.approved, r.feedback) for r in served.store.reviews(task_id)]
    assert reviews == [("user:tester", False, "Louder."), ("user:tester", True, "Good.")]
    assert [r.trigger for r in served.runs(task_id)] == ["first", "rework"]


def test_refused_runs_and_reviews_are_the_requests_errors(client: TestClient) -> None:
    task_id = client.post("/api/tasks", json={"title": "Not yet"}).json()["id"]

    run = client.post(f"/api/tasks/{task_id}/run")
    review = client.post(f"/api/tasks/{task_id}/review/approve")

    assert (run.status_code, run.json()) == (
        422, {"detail": f"task {task_id} is CREATED; only an ASSIGNED or FAILED task can be run"}
    )  # fmt: skip
    assert (review.status_code, review.json()) == (
        422, {"detail": f"task {task_id} is CREATED, not IN_REVIEW"}
    )  # fmt: skip


def test_a_run_that_fails_at_once_answers_200_failed(client: TestClient, served: Taskline) -> None:
    def broken(ref: str) -> Model:
        raise ValueError(f"no model {ref}")

    served.model_factory = broken
    task_id = assigned_task(client)

    response = client.post(f"/api/tasks/{task_id}/run", json={"timeout_seconds": 30})

    assert response.status_code == 200
    assert response.json()["failure"] == {
        "category": "crashed",
        "message": "no model scripted:none",
    }
    assert served.get_task(task_id).status is Status.FAILED
    metrics = served.metrics(task_id)
    assert metrics is not None
    assert metrics.cost_per_task == Decimal(0)
