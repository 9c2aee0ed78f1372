"""Database engines for SQLite and PostgreSQL, set up for concurrent writers."""

from __future__ import annotations

import re
import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, InvalidatePoolError
from sqlalchemy.pool import ConnectionPoolEntry

from taskline.errors import ConfigError
from taskline.private import private_sqlite

DEFAULT_LOCK_TIMEOUT_SECONDS = 30.0
"""How long a SQLite writer waits for another's write lock before giving up."""

SQLITE_CACHE_KIB = 512
"""The page cache of each SQLite connection (SQLite's default is 2 MiB). A run writes at the
tails of its tables, so a small cache serves it, and each pooled connection fills its own:
with 100 runs in flight, 149 KiB per run with SQLite's default, 128 with this (bench/peers
concurrency). The reports scan more, and pay for it: /api/metrics 104 -> 88 requests/s,
/api/tasks 86 -> 54-67 (bench/bench_api.py, 10,000 tasks)."""

PING_AFTER_IDLE_SECONDS = 1.0
"""A PostgreSQL connection that sat in the pool this long is pinged before it is used again."""

WRITE = {"taskline_write": True}
"""Execution options for a connection that will write (see `_begin_sqlite`)."""


def normalize_url(url: str) -> str:
    """Accept the URL forms people paste, and pick the psycopg 3 driver for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


# `user:password@`: the password, in a URL too broken for SQLAlchemy to parse.
_PASSWORD_IN_URL = re.compile(r"(?P<before>[^/@:]*:)[^/@]*(?=@)")


def hide_password(url: str) -> str:
    """`url` with its password shown as `***`, whether or not SQLAlchemy can parse it."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # ValueError: a port that is no number
        return _PASSWORD_IN_URL.sub(r"\g<before>***", url)


def without_password(text: str, url: str) -> str:
    """`text` (a driver's message about `url`) with the URL's password, if any, masked."""
    try:
        password = make_url(normalize_url(url)).password
    except (ArgumentError, ValueError):
        return text
    return text.replace(password, "***") if password else text


def create_store_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and write locks taken up front."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is no number
        # Not chained: SQLAlchemy's message quotes the URL, password and all.
        raise ConfigError(f"invalid database URL {hide_password(url)!r}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        private_sqlite(parsed.database)
        # How long a writer waits for another one's lock: `?timeout=SECONDS` in the URL.
        waits = {} if "timeout" in parsed.query else {"timeout": DEFAULT_LOCK_TIMEOUT_SECONDS}
        engine = create_engine(parsed, connect_args=waits)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    if backend == "postgresql":
        engine = create_engine(parsed)
        _ping_connections_back_from_idle(engine)
        return engine
    raise ConfigError(
        f"unsupported database {backend!r} in {parsed.render_as_string(hide_password=True)}:"
        " use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
    )


def _ping_connections_back_from_idle(engine: Engine) -> None:
    """SQLAlchemy's `pool_pre_ping`, for connections idle for `PING_AFTER_IDLE_SECONDS`.

    A connection the server dropped (restarted, or timed out an idle session) is found
    before a statement fails on it, as with `pool_pre_ping`. But a busy process takes a
    connection about 30 times a run, and a ping before each is a round trip for the
    client and the server: without them two workers ran 4 % more runs a second on two
    cores (bench/bench_workers.py, PostgreSQL). A connection in use a moment ago needs
    none: a restart takes longer, and a statement that failed meanwhile has had the
    pool replace every connection already.
    """

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)  # none yet: a fresh connection
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # As the pre-ping does on a disconnect: the pool drops every connection as old
            # as this one and tries a new one, which works or fails as a connect does (a
            # `StoreError`, not the driver's own exception from inside the pool).
            raise InvalidatePoolError() from exc


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (see _begin_sqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")  # negative: KiB, not pages
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    # A deferred transaction that reads and then writes can fail with "database is
    # locked" when another writer got in between; taking the write lock at BEGIN
    # makes writers queue on the busy timeout instead.
    mode = "IMMEDIATE" if connection.get_execution_options().get("taskline_write") else "DEFERRED"
    connection.exec_driver_sql(f"BEGIN {mode}")
