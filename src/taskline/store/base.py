"""Connections and transactions shared by every part of the SQL store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from taskline.store.engine import WRITE


class SqlBase:
    """An engine, and the two kinds of transaction the store uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def url(self) -> str:
        """The database URL, password included (for DBOS, which shares the database)."""
        return self.engine.url.render_as_string(hide_password=False)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction that will write; on SQLite it takes the write lock at BEGIN."""
        with self.engine.connect() as connection:
            connection = connection.execution_options(**WRITE)
            with connection.begin():
                yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A read-only transaction: one consistent view."""
        with self.engine.connect() as connection, connection.begin():
            yield connection
