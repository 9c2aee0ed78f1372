"""Connections and transactions shared by every part of the SQL store."""

from __future__ import annotations

import logging
import re
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from taskline.errors import StoreError, TasklineError
from taskline.store.engine import WRITE, without_password

ASYNCHRONOUS_COMMIT = text("SET LOCAL synchronous_commit TO OFF")


class SqlBase:
    """An engine, and the two kinds of transaction the store uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite has one writer at a time. Writers of this process queue here, each let
        # in the moment the last commits; without it they queue in SQLite's busy handler,
        # which polls the lock with sleeps of 1 to 100 ms. Another process's writers
        # still meet it there. Reentrant: a write inside a write waits on SQLite as before.
        self._one_writer: AbstractContextManager[object] = (
            threading.RLock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    @property
    def url(self) -> str:
        """The database URL, password included (for DBOS, which shares the database)."""
        return self.engine.url.render_as_string(hide_password=False)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def _write(self, *, flushed: bool = True) -> Iterator[Connection]:
        """A transaction that will write; on SQLite it takes the write lock at BEGIN.

        Not `flushed`: on PostgreSQL the commit does not wait for the server to flush it to
        disk. A crash of the client loses nothing (the server has it); only a crash of the
        server can lose it, and the next flushed commit of the store flushes it too. For a
        write whose loss the reader recovers from, never for one that must precede an act
        (a call's intent before the call is sent).
        """
        with self._faults_as_store_errors(), self._one_writer, self.engine.connect() as connection:
            connection = connection.execution_options(**WRITE)
            with connection.begin():
                if not flushed and connection.dialect.name == "postgresql":
                    connection.execute(ASYNCHRONOUS_COMMIT)
                yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A read-only transaction: one consistent view."""
        with self._faults_as_store_errors(), self.engine.connect() as connection:
            with connection.begin():
                yield connection

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """A read-only transaction whose every statement sees the same data.

        `_read` gives that on SQLite; PostgreSQL's default isolation lets each statement
        see what committed before it started, so a read of several statements asks for
        more.
        """
        with self._faults_as_store_errors(), self.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                yield connection

    @contextmanager
    def _faults_as_store_errors(self) -> Iterator[None]:
        """The database failing (full, locked, read-only, corrupt, gone) as one `StoreError`.

        A refused value (a duplicate key, a value the column cannot hold) is no fault of
        the database and passes through for the caller to translate.
        """
        try:
            yield
        except (IntegrityError, DataError):
            raise
        except DBAPIError as exc:
            raise store_error(self.engine, exc) from exc


def store_error(engine: Engine, exc: DBAPIError) -> StoreError:
    """One line naming the database (without its password) and what its driver said."""
    where = engine.url.render_as_string(hide_password=True)
    url = engine.url.render_as_string(hide_password=False)
    return StoreError(f"database {where} failed: {without_password(first_line(exc.orig), url)}")


def first_line(error: BaseException | None) -> str:
    """The first line of a driver's message (the rest is SQL and parameters)."""
    text = str(error).strip() if error is not None else ""
    return text.splitlines()[0] if text else type(error).__name__


def one_line_for_known_faults(record: logging.LogRecord) -> bool:
    """A log filter: a record of a fault of ours or of a database loses its traceback and
    keeps one line. DBOS logs a workflow's exception with its traceback, and SQLAlchemy's
    pool a connection it could not reset once the database went away; the command that
    met the fault says so itself, in one line."""
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, TasklineError | DBAPIError) or _driver_error(error):
        reason = first_line(error.orig) if isinstance(error, DBAPIError) else first_line(error)
        record.msg = f"{record.getMessage().rstrip(':')}: {reason}"
        record.args = None
        record.exc_info = None
        record.exc_text = None
    elif record.exc_info is None:
        _one_line_for_a_written_traceback(record)
    return True


# DBOS's background threads (its scheduler, among others) write the traceback into the
# message itself; the exception line it ends with names the fault.
WRITTEN_TRACEBACK = "Traceback (most recent call last):"
DATABASE_FAULT = re.compile(
    r"^(?:sqlalchemy\.exc\.(?:OperationalError|InterfaceError)|psycopg\.(?:errors\.)?"
    r"(?:OperationalError|InterfaceError)|sqlite3\.OperationalError): (?P<reason>.*)$",
    re.MULTILINE,
)


def _one_line_for_a_written_traceback(record: logging.LogRecord) -> None:
    """A message holding a traceback of a database's fault keeps its first words and the
    fault's line; a traceback of anything else (a bug) is left whole."""
    message = record.getMessage()
    head, written, trace = message.partition(WRITTEN_TRACEBACK)
    faults = list(DATABASE_FAULT.finditer(trace)) if written else []
    if faults:
        reason = faults[-1]["reason"].removeprefix("(psycopg.OperationalError) ").strip()
        record.msg = f"{head.strip().rstrip(':')}: {reason}"
        record.args = None


def _driver_error(error: BaseException | None) -> bool:
    """A database driver's error of the database itself (gone, locked, full), sqlite3's or
    psycopg's once loaded (a process that never loaded it meets none); not a mistake in our
    SQL, whose traceback is wanted."""
    psycopg = sys.modules.get("psycopg")
    return isinstance(error, sqlite3.OperationalError) or (
        psycopg is not None and isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)
    )
