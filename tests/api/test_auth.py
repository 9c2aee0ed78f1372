"""The token: on every endpoint but /health, from the environment or generated once."""

from __future__ import annotations

import itertools
import re
import stat
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from taskline.api import api_token
from tests.api.helpers import TOKEN

REFUSED = {"detail": "missing or wrong API token: send `Authorization: Bearer TOKEN`"}


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every endpoint under /api, with `X` for each id."""
    return sorted(
        (method.upper(), re.sub(r"\{\w+\}", "X", path))
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/")
        for method in operations
    )


def test_every_api_endpoint_refuses_a_missing_or_wrong_token(app: FastAPI) -> None:
    routes = api_routes(app)
    assert len(routes) == 25
    refused: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": TOKEN},
    ]
    with TestClient(app) as client:
        for (method, path), headers in itertools.product(routes, refused):
            response = client.request(method, path, headers=headers)
            assert (method, path, response.status_code, response.json()) == (
                method, path, 401, REFUSED,
            )  # fmt: skip
            assert response.headers["www-authenticate"] == "Bearer"


def test_health_the_schema_and_the_dashboard_need_no_token(app: FastAPI) -> None:
    with TestClient(app) as client:
        assert client.get("/health").json() == {"status": "ok"}
        page = client.get("/")
        assert page.status_code == 200
        assert '<script type="module" src="/static/js/app.js">' in page.text
        assert client.get("/static/js/app.js").status_code == 200
        schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"] == {
        "HTTPBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "The API token: `Authorization: Bearer TOKEN`.",
        }
    }


def test_only_the_event_stream_takes_the_token_in_the_query(client: TestClient) -> None:
    task_id = client.post("/api/tasks", json={"title": "Watch me"}).json()["id"]
    client.post(f"/api/tasks/{task_id}/cancel")
    no_header = {"Authorization": ""}

    listed = client.get(f"/api/tasks?token={TOKEN}", headers=no_header)
    streamed = client.get(f"/api/tasks/{task_id}/stream?token={TOKEN}", headers=no_header)
    wrong = client.get(f"/api/tasks/{task_id}/stream?token=nope", headers=no_header)

    assert listed.status_code == 401
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert wrong.status_code == 401


def test_the_token_from_the_environment_wins(tmp_path: Path) -> None:
    assert api_token(tmp_path, {"TASKLINE_API_TOKEN": " s3cret \n"}) == ("s3cret", None)
    assert not (tmp_path / "api-token").exists()


def test_a_token_is_generated_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"

    token, written_to = api_token(home, {"TASKLINE_API_TOKEN": "  "})
    again, written_again = api_token(home, {})

    assert written_to == home / "api-token"
    assert len(token) >= 40
    assert stat.S_IMODE(written_to.stat().st_mode) == 0o600
    assert (again, written_again) == (token, None)
