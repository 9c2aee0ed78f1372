"""A database that fails under a running server: a JSON 503 with one line, never a 500."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from taskline import Taskline
from taskline.api import create_app
from taskline.store import SqlStore
from tests.api.helpers import AUTH, TOKEN
from tests.faults.test_lock_and_readonly import hold_write_lock


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "taskline.db"


@pytest.fixture
def client(database: Path) -> Iterator[TestClient]:
    # A writer gives up after 1 s of waiting for the lock instead of 30.
    tl = Taskline(SqlStore.open(f"sqlite:///{database}?timeout=1"), actor="user:tester")
    tl.add_agent("coder", model="scripted:none")
    with TestClient(create_app(tl, token=TOKEN), headers=AUTH) as client:
        yield client
    tl.close()


def test_a_write_lock_held_past_the_timeout_is_a_503(client: TestClient, database: Path) -> None:
    holder = hold_write_lock(database)
    try:
        response = client.post("/api/tasks", json={"title": "t"})
    finally:
        holder.communicate("")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "detail": f"database sqlite:///{database}?timeout=1 failed: database is locked"
    }


def test_a_database_file_clobbered_under_the_server_is_a_503(
    client: TestClient, database: Path
) -> None:
    client.app.state.taskline.store.close()  # type: ignore[attr-defined]  # no cached pages
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.write_bytes(os.urandom(8192))

    response = client.get("/api/tasks")

    assert response.status_code == 503
    assert response.json() == {
        "detail": f"database sqlite:///{database}?timeout=1 failed: file is not a database"
    }
