"""Database engines for SQLite and PostgreSQL, set up for concurrent writers."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError

from taskline.errors import ConfigError
from taskline.private import private_sqlite

WRITE = {"taskline_write": True}
"""Execution options for a connection that will write (see `_begin_sqlite`)."""


def normalize_url(url: str) -> str:
    """Accept the URL forms people paste, and pick the psycopg 3 driver for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def create_store_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and write locks taken up front."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"invalid database URL {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        private_sqlite(parsed.database)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    if backend == "postgresql":
        return create_engine(parsed, pool_pre_ping=True)
    raise ConfigError(
        f"unsupported database {backend!r} in {parsed.render_as_string(hide_password=True)}:"
        " use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
    )


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (see _begin_sqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    # A deferred transaction that reads and then writes can fail with "database is
    # locked" when another writer got in between; taking the write lock at BEGIN
    # makes writers queue on the busy timeout instead.
    mode = "IMMEDIATE" if connection.get_execution_options().get("taskline_write") else "DEFERRED"
    connection.exec_driver_sql(f"BEGIN {mode}")
