"""Fixtures shared by the whole suite: stores on SQLite and a throwaway PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from taskline import Taskline
from taskline.store import SqlStore
from taskline.testing.postgres import PostgresServer, PostgresUnavailable, throwaway_postgres

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's own taskline home, database or config."""
    for name in ("TASKLINE_HOME", "TASKLINE_DATABASE_URL", "TASKLINE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    # In-process CLI tests run without DBOS: it is a process-wide singleton, and its
    # log handlers would outlive each test's captured output. tests/test_durable.py
    # runs the real script in subprocesses, durable.
    monkeypatch.setenv("TASKLINE_DURABLE", "0")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


@contextmanager
def postgres_or_skip(*, durable: bool = False) -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server; without the binaries the test skips (fails in CI)."""
    try:
        with throwaway_postgres(durable=durable) as server:
            yield server
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL tests must run in CI: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session; each test gets its own database on it."""
    with postgres_or_skip() as server:
        yield server


@pytest.fixture(scope="session")
def pg_migrated_template(pg_server: PostgresServer) -> str:
    """Name of a migrated PostgreSQL database that tests copy instead of migrating."""
    name = "taskline_migrated"
    SqlStore.open(pg_server.create_database(name)).close()
    return name


def new_database_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, *, migrated: bool = False
) -> str:
    """A URL of a database of `backend` that only this test uses: empty, or `migrated`."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_migrated_template") if migrated else "template0"
    return server.create_database(f"t_{uuid.uuid4().hex}", template=template)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database only this test uses, with taskline's schema; on SQLite and on PostgreSQL."""
    return new_database_url(request.param, tmp_path, request, migrated=True)


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    """A migrated store on an empty database."""
    store = SqlStore.open(database_url)
    yield store
    store.close()


@pytest.fixture
def tl(store: SqlStore) -> Iterator[Taskline]:
    """The library API on `store`, acting as `user:tester`, with agents coder and reviewer;
    closed at the end, with the run queue's client a scrape of `/metrics` may have opened."""
    taskline = Taskline(store, actor="user:tester")
    taskline.add_agent("coder", model="scripted:none")
    taskline.add_agent("reviewer", model="scripted:none")
    yield taskline
    taskline.close()
