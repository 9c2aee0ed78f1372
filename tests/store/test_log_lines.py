"""A database's faults logged by a background thread are one line, not a traceback."""

from __future__ import annotations

import logging
import sqlite3
import sys

import psycopg
import pytest
from sqlalchemy.exc import OperationalError

from taskline.errors import StoreError
from taskline.store.base import one_line_for_known_faults


def _record(message: str, error: BaseException) -> logging.LogRecord:
    try:
        raise error
    except BaseException:
        exc_info = sys.exc_info()
    return logging.LogRecord("dbos", logging.ERROR, __file__, 1, message, None, exc_info)


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            OperationalError("SELECT 1", {}, psycopg.OperationalError("server closed\nmore")),
            "Exception during reset or similar: server closed",
        ),
        (
            psycopg.OperationalError("connection refused\ndetail"),
            "Exception during reset or similar: connection refused",
        ),
        (
            sqlite3.OperationalError("disk I/O error"),
            "Exception during reset or similar: disk I/O error",
        ),
        (StoreError("database is gone"), "Exception during reset or similar: database is gone"),
    ],
)
def test_a_fault_of_a_database_or_ours_is_one_line(error: BaseException, line: str) -> None:
    record = _record("Exception during reset or similar:", error)
    assert one_line_for_known_faults(record) is True
    assert (record.getMessage(), record.exc_info) == (line, None)
    assert logging.Formatter("%(message)s").format(record) == line


@pytest.mark.parametrize(
    "error",
    [ValueError("a bug"), sqlite3.ProgrammingError("a bug"), psycopg.ProgrammingError("a bug")],
)
def test_any_other_error_keeps_its_traceback(error: Exception) -> None:
    record = _record("Exception in callback", error)
    assert one_line_for_known_faults(record) is True
    formatted = logging.Formatter("%(message)s").format(record)
    assert formatted.startswith("Exception in callback\nTraceback (most recent call last):")
    assert formatted.endswith(f"{type(error).__name__}: a bug")


DBOS_SCHEDULER_MESSAGE = """Exception polling schedules: Traceback (most recent call last):
  File "/site-packages/sqlalchemy/engine/base.py", line 154, in __init__
    self._dbapi_connection = engine.raw_connection()
psycopg.OperationalError: connection failed: Connection refused

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/site-packages/dbos/_scheduler.py", line 285, in _poll
    schedules = dbos._sys_db.list_schedules(
sqlalchemy.exc.OperationalError: (psycopg.OperationalError) connection failed: refused
(Background on this error at: https://sqlalche.me/e/21/e3q8)
"""


def test_a_traceback_written_into_a_message_of_a_database_fault_is_one_line() -> None:
    record = logging.LogRecord(
        "dbos", logging.WARNING, __file__, 1, DBOS_SCHEDULER_MESSAGE, None, None
    )
    assert one_line_for_known_faults(record) is True
    assert record.getMessage() == "Exception polling schedules: connection failed: refused"


def test_a_traceback_written_into_a_message_of_a_bug_is_kept_whole() -> None:
    message = "Exception polling schedules: Traceback (most recent call last):\nKeyError: 'x'\n"
    record = logging.LogRecord("dbos", logging.WARNING, __file__, 1, message, None, None)
    assert one_line_for_known_faults(record) is True
    assert record.getMessage() == message
