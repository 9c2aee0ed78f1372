"""Bad input: 404 for an unknown id, 422 for an invalid value or body, one line each, never 500."""

from __future__ import annotations

from pathlib import Path
from typing import get_args, get_origin

from fastapi.testclient import TestClient
from pydantic import BaseModel
from typer.testing import CliRunner

from taskline import Taskline
from taskline.api.bodies import AgentBody, AssignBody, MoveBody, ReasonBody, ReviewBody
from taskline.cli import app as cli_app
from taskline.models import NewTask

UNKNOWN = "01ZZZZZZZZZZZZZZZZZZZZZZZZ"


UNKNOWN_TASK = [
    ("GET", "/api/tasks/{id}", None),
    ("GET", "/api/tasks/{id}/runs", None),
    ("GET", "/api/tasks/{id}/artifacts", None),
    ("GET", "/api/tasks/{id}/metrics", None),
    ("GET", "/api/tasks/{id}/stream", None),
    ("GET", "/api/costs?task={id}", None),
    ("POST", "/api/tasks/{id}/assign", {"agent": "coder"}),
    ("POST", "/api/tasks/{id}/move", {"status": "CANCELLED"}),
    ("POST", "/api/tasks/{id}/cancel", None),
    ("POST", "/api/tasks/{id}/run", None),
    ("POST", "/api/tasks/{id}/review/approve", None),
]


def test_an_unknown_task_is_404(client: TestClient) -> None:
    # One store for all the cases: a database per case would cost more than the cases.
    for method, path, body in UNKNOWN_TASK:
        response = client.request(method, path.format(id=UNKNOWN), json=body)

        assert (path, response.status_code, response.json()) == (
            path, 404, {"detail": f"no task '{UNKNOWN}'"}
        )  # fmt: skip


def test_other_unknown_keys_are_404(client: TestClient) -> None:
    assert client.get("/api/agents/nobody").json() == {"detail": "no agent 'nobody'"}
    assert client.get(f"/api/runs/{UNKNOWN}").json() == {"detail": f"no run '{UNKNOWN}'"}
    # A key no database could hold names nothing either.
    nul = client.get("/api/tasks/a%00b")
    assert (nul.status_code, nul.json()) == (404, {"detail": "no task 'a\\x00b'"})


def test_the_api_says_what_the_cli_says(
    client: TestClient, database_url: str, tmp_path: Path
) -> None:
    task_id = client.post("/api/tasks", json={"title": "Docs"}).json()["id"]
    cli = CliRunner(
        env={"TASKLINE_HOME": str(tmp_path / "cli"), "TASKLINE_DATABASE_URL": database_url}
    )

    for command, (method, path, body) in {
        ("task", "move", task_id, "completed"): (
            "POST",
            f"/api/tasks/{task_id}/move",
            {"status": "COMPLETED"},
        ),
        ("task", "show", UNKNOWN): ("GET", f"/api/tasks/{UNKNOWN}", None),
        ("task", "run", task_id): ("POST", f"/api/tasks/{task_id}/run", None),
        ("task", "unblock", task_id): ("POST", f"/api/tasks/{task_id}/unblock", None),
        ("metrics", "--task", task_id): ("GET", f"/api/tasks/{task_id}/metrics", None),
        ("review", "approve", task_id): ("POST", f"/api/tasks/{task_id}/review/approve", None),
    }.items():
        said = cli.invoke(cli_app, list(command))
        answered = client.request(method, path, json=body)
        assert (said.exit_code, said.stderr) == (1, f"error: {answered.json()['detail']}\n")
        assert answered.status_code in (404, 409, 422)


INVALID_TASKS = [
    ({}, "invalid request: body.title: Field required"),
    ({"title": "  "}, "invalid task: title: must not be blank"),
    ({"title": "x" * 201}, "invalid task: title: String should have at most 200 characters"),
    (
        {"title": "t", "priority": "asap"},
        "invalid request: body.priority: Input should be 'low', 'normal', 'high' or 'urgent'",
    ),
    (
        {"title": "t", "max_turns": 0},
        "invalid request: body.max_turns: Input should be greater than or equal to 1",
    ),
    (
        {"title": "t", "max_turns": 2**31},
        "invalid request: body.max_turns: Input should be less than or equal to 2147483647",
    ),
    (
        {"title": "t", "budget_usd": -1},
        "invalid request: body.budget_usd: Input should be greater than 0",
    ),
    (
        {"title": "t", "deadline": "2030-01-01T00:00:00"},
        "invalid task: deadline: must include a timezone, e.g. 2026-12-01T17:00:00+00:00",
    ),
    (
        {"title": "t", "deadline": "9999-12-31T23:59:59-05:00"},
        "invalid request: body.deadline: is out of range once converted to UTC",
    ),
    (
        {"title": "t", "type": "two words"},
        "invalid task: type: must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
    ),
    (
        {"title": "t\x00"},
        "invalid request: body.title: must not contain NUL characters or unpaired surrogates",
    ),
    (
        {"title": "t", "colour": "red"},
        "invalid request: body.colour: Extra inputs are not permitted",
    ),
    ({"title": "t", "depends_on": [UNKNOWN]}, f"unknown dependency: {UNKNOWN}"),
]


def test_an_invalid_task_is_422_with_one_line(client: TestClient) -> None:
    for body, detail in INVALID_TASKS:
        response = client.post("/api/tasks", json=body)

        assert (body, response.status_code, response.json()) == (body, 422, {"detail": detail})


def test_an_infinite_number_is_422(client: TestClient) -> None:
    body = b'{"title": "t", "timeout_seconds": 1e999}'  # json.loads reads it as inf

    response = client.post("/api/tasks", content=body, headers={"Content-Type": "application/json"})

    assert (response.status_code, response.json()) == (
        422, {"detail": "invalid request: body.timeout_seconds: Input should be a finite number"}
    )  # fmt: skip


def test_a_body_that_is_not_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/api/tasks", content=b'{"title": ', headers={"Content-Type": "application/json"}
    )

    assert (response.status_code, response.json()) == (
        422, {"detail": "invalid request: body.10: JSON decode error"}
    )  # fmt: skip


def test_an_unpaired_surrogate_is_422(client: TestClient) -> None:
    response = client.post(
        "/api/agents", content=b'{"name": "a\\ud800"}', headers={"Content-Type": "application/json"}
    )

    assert (response.status_code, response.json()["detail"]) == (
        422, "invalid request: body.name: must not contain NUL characters or unpaired surrogates"
    )  # fmt: skip


def test_an_unknown_reviewer_or_tool_is_refused(client: TestClient) -> None:
    reviewer = client.post("/api/tasks", json={"title": "t", "reviewers": ["ghost"]})
    tool = client.post("/api/agents", json={"name": "x", "tools": ["teleport"]})

    assert (reviewer.status_code, reviewer.json()) == (404, {"detail": "no agent 'ghost'"})
    assert tool.status_code == 422
    assert tool.json()["detail"].startswith("unknown tool 'teleport'; built-in tools: ")


NOT_STORABLE = "must not contain NUL characters or unpaired surrogates"
# Each body with a valid value of every required field, and where it is sent.
BODIES: dict[type[BaseModel], tuple[str, dict[str, object]]] = {
    AgentBody: ("/api/agents", {"name": "nul-agent"}),
    NewTask: ("/api/tasks", {"title": "nul task"}),
    AssignBody: ("/api/tasks/{id}/assign", {"agent": "coder"}),
    MoveBody: ("/api/tasks/{id}/move", {"status": "CANCELLED"}),
    ReasonBody: ("/api/tasks/{id}/block", {}),
    ReviewBody: ("/api/tasks/{id}/review/reject", {}),
}


def _holds_text(annotation: object) -> bool:
    return annotation is str or any(_holds_text(arg) for arg in get_args(annotation))


def _is_list(annotation: object) -> bool:
    return get_origin(annotation) is list or any(_is_list(arg) for arg in get_args(annotation))


def test_a_nul_in_any_text_of_any_body_is_422(client: TestClient, served: Taskline) -> None:
    # PostgreSQL cannot store NUL in text: every string a body carries is checked before.
    task_id = served.create_task("Target").id
    served.assign(task_id, "coder")
    before = (served.list_agents(), served.list_tasks(), served.transitions(task_id))
    checked = []
    for body, (path, valid) in BODIES.items():
        for name, field in body.model_fields.items():
            if not _holds_text(field.annotation):
                continue
            is_list = _is_list(field.annotation)
            value: object = ["fine", "bad\x00"] if is_list else "bad\x00"
            response = client.post(path.format(id=task_id), json={**valid, name: value})
            where = f"body.{name}.1" if is_list else f"body.{name}"
            assert (body.__name__, name, response.status_code, response.json()) == (
                body.__name__, name, 422, {"detail": f"invalid request: {where}: {NOT_STORABLE}"}
            )  # fmt: skip
            checked.append(f"{body.__name__}.{name}")

    assert checked == [
        *(f"AgentBody.{n}" for n in ("name", "model", "role", "instructions", "skills", "tools",
          "mcp")),
        *(f"NewTask.{n}" for n in ("title", "description", "type", "criteria", "checks",
          "expected_artifacts", "depends_on", "ignore", "reviewers", "workspace")),
        "AssignBody.agent", "AssignBody.reason", "MoveBody.reason", "MoveBody.assignee",
        "ReasonBody.reason", "ReviewBody.feedback",
    ]  # fmt: skip
    assert (served.list_agents(), served.list_tasks(), served.transitions(task_id)) == before
