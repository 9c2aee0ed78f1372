"""`/metrics` of the server: behind the token unless public, Prometheus's text format, the
state of the database read at each scrape."""

from __future__ import annotations

from fastapi.testclient import TestClient

from taskline import Taskline
from taskline.api import create_app
from tests.api.helpers import AUTH, TOKEN
from tests.observability.exposition import samples

REFUSED = {"detail": "missing or wrong API token: send `Authorization: Bearer TOKEN`"}
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


def test_metrics_need_the_token(served: Taskline) -> None:
    served.home.mkdir()
    with TestClient(create_app(served, token=TOKEN)) as client:
        anonymous = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        in_query = client.get("/metrics", params={"token": TOKEN})
        allowed = client.get("/metrics", headers=AUTH)

    for refused in (anonymous, wrong, in_query):
        assert (refused.status_code, refused.json()) == (401, REFUSED)
        assert refused.headers["www-authenticate"] == "Bearer"
    assert (allowed.status_code, allowed.headers["content-type"]) == (200, TEXT_FORMAT)
    assert samples(allowed.text, "taskline_database_up") == {"taskline_database_up": 1.0}


def test_public_metrics_need_no_token_and_the_api_still_does(served: Taskline) -> None:
    served.home.mkdir()
    with TestClient(create_app(served, token=TOKEN, metrics_public=True)) as client:
        scraped = client.get("/metrics")
        api = client.get("/api/tasks")

    assert (scraped.status_code, scraped.headers["content-type"]) == (200, TEXT_FORMAT)
    assert (api.status_code, api.json()) == (401, REFUSED)


def test_each_scrape_reads_the_tasks_as_they_are_now(client: TestClient, served: Taskline) -> None:
    served.home.mkdir()
    before = samples(client.get("/metrics").text, "taskline_tasks")
    task_id = client.post("/api/tasks", json={"title": "Greet"}).json()["id"]
    client.post("/api/tasks", json={"title": "Wait"})
    client.post(f"/api/tasks/{task_id}/assign", json={"agent": "coder"})
    after = samples(client.get("/metrics").text, "taskline_tasks")

    assert (
        before['taskline_tasks{status="CREATED"}'],
        before['taskline_tasks{status="ASSIGNED"}'],
    ) == (0, 0)
    assert (
        after['taskline_tasks{status="CREATED"}'],
        after['taskline_tasks{status="ASSIGNED"}'],
    ) == (1, 1)


def test_metrics_are_not_part_of_the_api_schema(client: TestClient) -> None:
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]
