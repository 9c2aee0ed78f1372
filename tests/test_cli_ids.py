"""Ids people can type: unique prefixes in every command, short ids in tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskline.ids import short_ids
from taskline.models import Task
from taskline.service import Taskline
from tests.conftest import BACKENDS, new_database_url
from tests.test_cli import run


@pytest.fixture(params=BACKENDS)
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> CliRunner:
    env = {"TASKLINE_HOME": str(tmp_path / "home"), "COLUMNS": "80"}
    if request.param != "sqlite":
        env["TASKLINE_DATABASE_URL"] = new_database_url(request.param, tmp_path, request)
    return CliRunner(env=env)


def _tasks(cli: CliRunner, *ids: str) -> None:
    """Tasks with chosen ids, through the library the CLI opens."""
    with CliRunner.isolation(cli), Taskline.open() as tl:
        for task_id in ids:
            tl.store.create_task(Task(id=task_id, title=f"task {task_id[-4:]}"), actor="test")


def test_short_ids_are_eight_characters_or_as_long_as_needed() -> None:
    assert short_ids(["01ABCDEFGHJK", "01ABCDEFGHJM", "01ZZZZZZZZZZ"]) == {
        "01ABCDEFGHJK": "01ABCDEFGHJK",
        "01ABCDEFGHJM": "01ABCDEFGHJM",
        "01ZZZZZZZZZZ": "01ZZZZZZ",
    }


def test_a_unique_prefix_in_any_case_names_the_task(cli: CliRunner) -> None:
    first, second = "01M0000000AAAAAAAAAAAAAAA1", "01M00000Z0AAAAAAAAAAAAAAA2"
    _tasks(cli, first, second)
    shown = json.loads(run(cli, "task", "show", second[:9].lower(), "--json").stdout)
    assert shown["id"] == second
    assert run(cli, "task", "cancel", first[:10]).stdout == f"{first} CANCELLED\n"


def test_an_ambiguous_prefix_lists_the_candidates(cli: CliRunner) -> None:
    ids = [f"01M0000000AAAAAAAAAAAAAAA{n}" for n in (1, 2, 3)]
    _tasks(cli, *ids)
    result = run(cli, "task", "show", ids[0][:20], code=1)
    assert result.stdout == ""
    assert result.stderr == (
        f"error: task id {ids[0][:20]!r} is ambiguous: it could be {', '.join(ids)}\n"
    )


@pytest.mark.parametrize("typed", ["ZZZZ", "01-", "0" * 27, "%"])
def test_an_unknown_prefix_is_not_found(cli: CliRunner, typed: str) -> None:
    _tasks(cli, "01M0000000AAAAAAAAAAAAAAA1")
    result = run(cli, "task", "show", typed, code=1)
    assert result.stderr == f"error: no task {typed!r}\n"


def test_list_shows_unique_prefixes_and_titles_on_one_line(cli: CliRunner) -> None:
    with CliRunner.isolation(cli), Taskline.open() as tl:
        for task_id, title in (
            ("01M0000000AAAAAAAAAAAAAAA1", "first"),
            ("01M0000000AAAAAAAAAAAAAAA2", "second"),
            ("01M00000Z0AAAAAAAAAAAAAAA3", "A title far too long for eighty columns " * 3),
        ):
            tl.store.create_task(Task(id=task_id, title=title), actor="test")
    assert run(cli, "task", "list").stdout == TABLE
    assert "01M0000000AAAAAAAAAAAAAAA1" in run(cli, "task", "list", "--full-ids").stdout


TABLE = """\
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓
┃ id                         ┃ status  ┃ priority ┃ assignee ┃ title           ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩
│ 01M0000000AAAAAAAAAAAAAAA1 │ CREATED │ normal   │ -        │ first           │
│ 01M0000000AAAAAAAAAAAAAAA2 │ CREATED │ normal   │ -        │ second          │
│ 01M00000Z                  │ CREATED │ normal   │ -        │ A title far to… │
└────────────────────────────┴─────────┴──────────┴──────────┴─────────────────┘
"""
