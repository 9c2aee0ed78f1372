"""What taskline keeps is its owner's only: $TASKLINE_HOME 0700; the database, its WAL and
shared-memory files, the blobs and the API token 0600 — made so, or tightened when older
versions left them open."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from taskline import Status, Taskline
from taskline.api import api_token
from taskline.durable import system_database_url
from tests.engine.scripting import call, scripted, submit


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_home_database_wal_and_shm_are_private(tmp_path: Path) -> None:
    home = tmp_path / "new" / "home"

    with Taskline.open(home=home, env={}, durable=False) as tl:
        tl.add_agent("coder", model="scripted:none")  # a write: the WAL and SHM exist now
        files = {p.name: mode(p) for p in home.iterdir()}

    assert mode(home) == 0o700
    assert mode(tmp_path / "new") == 0o700
    assert files == {"taskline.db": 0o600, "taskline.db-wal": 0o600, "taskline.db-shm": 0o600}


def test_an_older_open_home_and_database_are_tightened(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Taskline.open(home=home, env={}, durable=False):
        pass
    os.chmod(home, 0o755)
    os.chmod(home / "taskline.db", 0o644)
    (home / "api-token").write_text("kept-token\n")
    os.chmod(home / "api-token", 0o644)

    with Taskline.open(home=home, env={}, durable=False) as tl:
        token, written_to = api_token(tl.home, env={})

    assert (token, written_to) == ("kept-token", None)
    assert (mode(home), mode(home / "taskline.db"), mode(home / "api-token")) == (
        0o700,
        0o600,
        0o600,
    )


def test_a_generated_token_is_private(tmp_path: Path) -> None:
    home = tmp_path / "home"

    _token, written_to = api_token(home, env={})

    assert written_to == home / "api-token"
    assert (mode(home), mode(written_to)) == (0o700, 0o600)


def test_the_durable_system_database_is_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()

    url = system_database_url(f"sqlite:///{home / 'taskline.db'}", home)

    assert url == f"sqlite:///{home / 'dbos.sqlite'}"
    assert mode(home / "dbos.sqlite") == 0o600


def test_a_run_keeps_home_and_blobs_private(tl: Taskline, tmp_path: Path) -> None:
    """On SQLite and PostgreSQL: the blobs of a run's artifacts live in the home either way."""
    factory, _models = scripted(
        [call("write_file", path="notes.txt", content="hello\n"), submit("wrote notes")]
    )
    tl.home, tl.model_factory = tmp_path / "home", factory
    task = tl.create_task("Write notes")
    tl.assign(task.id, "coder")

    assert tl.run_task(task.id).status is Status.COMPLETED

    blobs = tl.home / "blobs"
    kept = [p for p in blobs.rglob("*") if p.is_file()]
    assert mode(tl.home) == 0o700
    assert mode(blobs) == 0o700
    assert len(kept) == 1
    assert (mode(kept[0].parent), mode(kept[0])) == (0o700, 0o600)
