"""Agents and tasks through the API: the same JSON as `--json`, the same moves and refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from taskline import Status, Taskline
from taskline.cli import app as cli_app
from taskline.config import Config
from taskline.lifecycle import ORDER, allowed_targets
from taskline.models import PRIORITIES, NewTask
from taskline.tools.mcp import McpServerConfig
from taskline.views import TaskDetailView, TaskView

MOVES_FROM_CREATED = "allowed from CREATED: ASSIGNED, CANCELLED"


def new_task(client: TestClient, **fields: object) -> str:
    response = client.post("/api/tasks", json={"title": "Write docs", **fields})
    assert response.status_code == 201, response.text
    task_id: str = response.json()["id"]
    return task_id


def test_agents_are_added_listed_and_shown(client: TestClient, served: Taskline) -> None:
    added = client.post(
        "/api/agents",
        json={"name": "writer", "model": "openai:gpt-4o-mini", "role": "docs", "tools": ["read_file"],
              "skills": ["prose"], "budget_usd": "0.25"},
    )  # fmt: skip

    assert added.status_code == 201
    assert added.json() == served.get_agent("writer").model_dump(mode="json")
    assert added.json()["budget_usd"] == 0.25
    names = [agent["name"] for agent in client.get("/api/agents").json()]
    assert names == ["coder", "reviewer", "writer"]
    assert client.get("/api/agents/writer").json()["tools"] == ["read_file"]


def test_agents_get_mcp_servers_of_the_config(client: TestClient, served: Taskline) -> None:
    served.config = Config(mcp={"git": McpServerConfig(command=("mcp-server-git",))})
    added = client.post("/api/agents", json={"name": "gitter", "mcp": ["git:git_status"]})
    unknown = client.post("/api/agents", json={"name": "tracked", "mcp": ["tracker"]})

    assert added.status_code == 201, added.text
    assert added.json()["mcp"] == [{"server": "git", "tools": ["git_status"]}]
    assert (unknown.status_code, unknown.json()) == (
        422,
        {
            "detail": "invalid agent 'tracked': unknown MCP server 'tracker'; servers in the"
            " [mcp] tables of taskline.toml: git"
        },
    )


def test_an_agent_name_is_taken_once(client: TestClient) -> None:
    response = client.post("/api/agents", json={"name": "coder"})

    assert (response.status_code, response.json()) == (
        409, {"detail": "agent 'coder' already exists"}
    )  # fmt: skip


def test_create_answers_what_task_create_json_prints(client: TestClient, served: Taskline) -> None:
    response = client.post(
        "/api/tasks",
        json={"title": "Write docs", "description": "All of them", "criteria": ["README exists"],
              "checks": ["test -f README.md"], "budget_usd": 0.5, "max_turns": 5,
              "timeout_seconds": 60, "priority": "high", "deadline": "2030-01-02T03:04:05+01:00",
              "human_review": True, "reviewers": ["reviewer"]},
    )  # fmt: skip

    data = response.json()
    task = served.get_task(data["id"])
    assert data == TaskView.of(task, served.transitions(task.id)).model_dump(mode="json")
    assert (data["status"], data["budget_usd"], data["deadline"]) == (
        "CREATED", 0.5, "2030-01-02T02:04:05Z"
    )  # fmt: skip
    assert data["transitions"] == [
        {
            "from": None,
            "to": "CREATED",
            "at": data["created_at"],
            "actor": "user:tester",
            "reason": "",
        }
    ]


def test_show_answers_what_task_show_json_prints(client: TestClient, served: Taskline) -> None:
    task_id = new_task(client)
    client.post(f"/api/tasks/{task_id}/assign", json={"agent": "coder", "reason": "good at it"})

    shown = client.get(f"/api/tasks/{task_id}").json()

    expected = TaskDetailView.of_detail(
        served.get_task(task_id), served.transitions(task_id), served.events(task_id),
        served.detail(task_id),
    ).model_dump(mode="json")  # fmt: skip
    assert shown == expected
    assert (shown["runs"], shown["metrics"], shown["artifacts"]) == ([], None, [])


def test_list_filters_orders_and_pages(client: TestClient, served: Taskline) -> None:
    first, second, third = (new_task(client, title=f"Task {n}") for n in (1, 2, 3))
    client.post(f"/api/tasks/{second}/assign", json={"agent": "coder"})
    client.post(f"/api/tasks/{third}/assign", json={"agent": "reviewer"})

    every = client.get("/api/tasks")
    assigned = client.get("/api/tasks", params={"status": "ASSIGNED"}).json()
    of_coder = client.get("/api/tasks", params={"assignee": "coder"}).json()
    page = client.get("/api/tasks", params={"order": "newest", "limit": 1, "offset": 1})

    assert every.json() == [t.model_dump(mode="json") for t in served.list_tasks()]
    assert every.headers["x-total-count"] == "3"
    assert [t["id"] for t in assigned] == [second, third]
    assert [t["id"] for t in of_coder] == [second]
    assert [t["id"] for t in page.json()] == [second]
    assert page.headers["x-total-count"] == "3"
    assert first


def test_moves_follow_the_table_and_keep_their_reasons(
    client: TestClient, served: Taskline
) -> None:
    task_id = new_task(client)

    steps = [
        client.post(f"/api/tasks/{task_id}/assign", json={"agent": "coder"}),
        client.post(f"/api/tasks/{task_id}/assign", json={"agent": "reviewer", "reason": "busy"}),
        client.post(f"/api/tasks/{task_id}/block", json={"reason": "waiting for keys"}),
        client.post(f"/api/tasks/{task_id}/unblock"),
        client.post(f"/api/tasks/{task_id}/move", json={"status": "IN_PROGRESS"}),
        client.post(f"/api/tasks/{task_id}/cancel", json={"reason": "not needed"}),
    ]

    assert [(r.status_code, r.json()["status"], r.json()["assignee"]) for r in steps] == [
        (200, "ASSIGNED", "coder"),
        (200, "ASSIGNED", "reviewer"),
        (200, "BLOCKED", "reviewer"),
        (200, "ASSIGNED", "reviewer"),
        (200, "IN_PROGRESS", "reviewer"),
        (200, "CANCELLED", "reviewer"),
    ]
    trail = [(t.from_status, t.to_status, t.reason) for t in served.transitions(task_id)]
    assert trail == [
        (None, Status.CREATED, ""),
        (Status.CREATED, Status.ASSIGNED, ""),
        (Status.ASSIGNED, Status.BLOCKED, "waiting for keys"),
        (Status.BLOCKED, Status.ASSIGNED, ""),
        (Status.ASSIGNED, Status.IN_PROGRESS, ""),
        (Status.IN_PROGRESS, Status.CANCELLED, "not needed"),
    ]
    [event] = steps[-1].json()["events"]
    assert (event["kind"], event["detail"]) == (
        "reassigned", {"from": "coder", "to": "reviewer", "reason": "busy"}
    )  # fmt: skip


def test_an_illegal_move_is_409_and_writes_nothing(client: TestClient, served: Taskline) -> None:
    task_id = new_task(client)

    response = client.post(f"/api/tasks/{task_id}/move", json={"status": "COMPLETED"})

    assert (response.status_code, response.json()) == (
        409,
        {"detail": f"cannot move task {task_id} from CREATED to COMPLETED ({MOVES_FROM_CREATED})"},
    )
    assert len(served.transitions(task_id)) == 1


def test_a_terminal_task_refuses_every_move(client: TestClient) -> None:
    task_id = new_task(client)
    client.post(f"/api/tasks/{task_id}/cancel")

    response = client.post(f"/api/tasks/{task_id}/assign", json={"agent": "coder"})

    assert (response.status_code, response.json()["detail"]) == (
        409,
        f"cannot move task {task_id} from CANCELLED to ASSIGNED"
        " (CANCELLED is terminal, no moves are allowed)",
    )


def test_unmet_dependencies_are_409(client: TestClient) -> None:
    first = new_task(client, title="First")
    second = new_task(client, title="Second", depends_on=[first])
    client.post(f"/api/tasks/{second}/assign", json={"agent": "coder"})

    response = client.post(f"/api/tasks/{second}/move", json={"status": "IN_PROGRESS"})

    assert (response.status_code, response.json()["detail"]) == (
        409, f"cannot start task {second}: dependencies not COMPLETED: {first} (CREATED)"
    )  # fmt: skip


def test_a_task_runs_in_a_copy_with_copy_true(
    client: TestClient, served: Taskline, tmp_path: Path
) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()

    task_id = new_task(client, workspace=str(workspace), copy=True)
    refused = client.post("/api/tasks", json={"title": "No workspace", "copy": True})

    assert client.get(f"/api/tasks/{task_id}").json()["copy_dir"] == str(
        tmp_path / "home" / "copies" / task_id / "project"
    )
    assert (refused.status_code, refused.json()) == (
        422,
        {"detail": "invalid task: a copy needs a workspace to copy: give its directory"
                   " (--workspace DIR)"},
    )  # fmt: skip
    assert [task.id for task in served.list_tasks()] == [task_id]


def test_the_cli_creates_what_the_api_creates_from_every_field(
    client: TestClient, served: Taskline, database_url: str, tmp_path: Path
) -> None:
    body: dict[str, Any] = {
        "title": "Everything", "description": "all of it", "type": "docs", "priority": "high",
        "criteria": ["one", "two"], "checks": ["true"], "expected_artifacts": ["a.md"],
        "budget_usd": 1.25, "budget_tokens": 5000, "max_turns": 7, "timeout_seconds": 90.0,
        "check_timeout_seconds": 30.0, "ignore": ["*.log"], "deadline": "2030-01-02T03:04:05Z",
        "reviewers": ["coder"], "human_review": True, "max_rework": 3,
        "workspace": str(tmp_path), "copy": False, "depends_on": [],
    }  # fmt: skip
    assert sorted(body) == sorted(
        field.alias or name for name, field in NewTask.model_fields.items()
    )
    cli = CliRunner(env={"TASKLINE_HOME": str(served.home), "TASKLINE_DATABASE_URL": database_url})

    said = cli.invoke(cli_app, [
        "task", "create", "Everything", "-d", "all of it", "--type", "docs",
        "--priority", "high", "--criterion", "one", "--criterion", "two", "--check", "true",
        "--expect", "a.md", "--budget-usd", "1.25", "--budget-tokens", "5000",
        "--max-turns", "7", "--timeout", "90", "--check-timeout", "30", "--ignore", "*.log",
        "--deadline", "2030-01-02T03:04:05+00:00", "--reviewer", "coder", "--human-review",
        "--max-rework", "3", "--workspace", str(tmp_path), "--json",
    ])  # fmt: skip
    answered = client.post("/api/tasks", json=body)

    assert said.exit_code == 0, said.output
    assert answered.status_code == 201, answered.text
    varying = ("id", "created_at", "updated_at", "transitions")
    printed = {k: v for k, v in json.loads(said.stdout).items() if k not in varying}
    assert printed == {k: v for k, v in answered.json().items() if k not in varying}


def test_the_lifecycle_is_the_table_and_the_priorities(client: TestClient) -> None:
    answered = client.get("/api/lifecycle")

    assert answered.status_code == 200
    assert answered.json() == {
        "statuses": [s.value for s in ORDER],
        "initial": "CREATED",
        "terminal": ["COMPLETED", "CANCELLED"],
        "ended": ["COMPLETED", "CANCELLED", "FAILED"],
        "moves": {s.value: [t.value for t in allowed_targets(s)] for s in ORDER},
        "priorities": list(PRIORITIES),
    }
    assert answered.json()["moves"]["IN_REVIEW"] == [
        "IN_PROGRESS", "COMPLETED", "BLOCKED", "CANCELLED", "FAILED"
    ]  # fmt: skip
