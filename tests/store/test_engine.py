"""How the store sets up its SQLite connections."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from taskline.errors import StoreError
from taskline.store import SqlStore, engine
from taskline.testing.postgres import PostgresServer
from tests.conftest import postgres_or_skip


def test_a_sqlite_connection_keeps_a_page_cache_of_512_kib(tmp_path: Path) -> None:
    store = SqlStore.open(f"sqlite:///{tmp_path / 'taskline.db'}")
    try:
        with store.engine.connect() as connection:
            pragmas = [
                connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("cache_size", "journal_mode", "synchronous", "foreign_keys")
            ]
    finally:
        store.close()
    # cache_size in KiB when negative; synchronous 1 is NORMAL
    assert pragmas == [-512, "wal", 1, 1]


@pytest.fixture
def pg_store(pg_server: PostgresServer) -> Iterator[SqlStore]:
    store = SqlStore.open(pg_server.create_database(f"t_{uuid.uuid4().hex}"))
    yield store
    store.close()


def count_pings(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """A list that grows by one at each ping the store's pool sends (the real ping)."""
    dialect = store.engine.dialect
    pings: list[None] = []

    def counted(dbapi_connection: Any) -> bool:
        pings.append(None)
        return type(dialect).do_ping(dialect, dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counted)
    return pings


@pytest.mark.parametrize(("idle_seconds", "pings"), [(3600.0, 0), (0.0, 5)])
def test_a_postgresql_connection_is_pinged_only_when_back_from_idle(
    pg_store: SqlStore, monkeypatch: pytest.MonkeyPatch, idle_seconds: float, pings: int
) -> None:
    monkeypatch.setattr(engine, "PING_AFTER_IDLE_SECONDS", idle_seconds)
    sent = count_pings(pg_store, monkeypatch)

    for _ in range(5):  # one after the other: each takes a connection the last gave back
        assert pg_store.list_agents() == []

    assert len(sent) == pings


def terminate_the_store_sessions(server: PostgresServer, database: str) -> None:
    """End the server side of every session on `database`, as a restart or an idle
    timeout does: `pg_terminate_backend` with a timeout returns once each has exited."""
    with psycopg.connect(
        host=server.host, port=server.port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        ended = conn.execute(
            "SELECT pg_terminate_backend(pid, 60000) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    assert set(ended) == {(True,)}, ended  # at least one, and each ended in time


def test_a_postgresql_connection_the_server_dropped_is_replaced_after_its_ping(
    pg_server: PostgresServer, pg_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert pg_store.list_agents() == []
    sent = count_pings(pg_store, monkeypatch)
    monkeypatch.setattr(engine, "PING_AFTER_IDLE_SECONDS", 0.0)

    terminate_the_store_sessions(pg_server, pg_store.engine.url.database or "")

    assert pg_store.list_agents() == []
    assert len(sent) == 1


def test_without_the_ping_a_dropped_connection_fails_one_statement_then_none(
    pg_server: PostgresServer, pg_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the ping saves a connection back from idle; one in use a moment ago risks it,
    and then the pool replaces every connection."""
    assert pg_store.list_agents() == []
    monkeypatch.setattr(engine, "PING_AFTER_IDLE_SECONDS", 3600.0)

    terminate_the_store_sessions(pg_server, pg_store.engine.url.database or "")

    with pytest.raises(StoreError) as failed:
        pg_store.list_agents()
    url = pg_store.engine.url.render_as_string(hide_password=True)
    assert str(failed.value) == (
        f"database {url} failed: terminating connection due to administrator command"
    )
    assert pg_store.list_agents() == []


def test_a_ping_that_finds_the_server_stopped_is_one_store_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pool tries a new connection, which fails as a connect does: a `StoreError`."""
    with postgres_or_skip() as server:  # its own: stopping it must not break the others
        store = SqlStore.open(server.create_database("taskline"))
        try:
            assert store.list_agents() == []
            monkeypatch.setattr(engine, "PING_AFTER_IDLE_SECONDS", 0.0)
            server.stop("immediate")

            with pytest.raises(StoreError) as failed:
                store.list_agents()
        finally:
            store.close()
    url = store.engine.url.render_as_string(hide_password=True)
    assert str(failed.value) == (
        f"database {url} failed: connection failed: connection to server at"
        f' "127.0.0.1", port {server.port} failed: Connection refused'
    )
