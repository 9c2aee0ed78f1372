"""A write lock held past the timeout, and a filesystem turned read-only, mid-run."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskline.engine.admission import INTERRUPTED
from tests.faults.deployment import Deployment, last_line, mounted_tmpfs, remount

# Holds the write lock of the database in argv[1] until its stdin closes.
HOLD_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
connection.execute("ROLLBACK")
"""


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "disk") as disk:
        yield disk


@pytest.fixture
def deployment(disk: Path, tmp_path: Path) -> Iterator[Deployment]:
    home = disk / "home"
    # A writer gives up after 1 s instead of 30, so that the test is quick.
    deployment = Deployment(home, tmp_path, f"sqlite:///{home}/taskline.db?timeout=1")
    yield deployment
    deployment.stop()
    remount(disk, "rw")  # whatever the test left, so the mount can go


def hold_write_lock(database: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "locked\n"
    return holder


def test_a_lock_held_past_the_timeout_leaves_a_task_the_next_run_retries(
    deployment: Deployment, disk: Path
) -> None:
    database = disk / "home" / "taskline.db"
    task_id = deployment.new_task()
    process = deployment.run_until_gate(task_id)
    holder = hold_write_lock(database)
    try:
        # Every write of the run waits 1 s for the lock and fails, its end's too.
        code, err = deployment.finish(process)
    finally:
        holder.communicate("")

    assert code == 1
    assert last_line(err) == (
        f"error: database sqlite:///{database}?timeout=1 failed: database is locked;"
        f" task {task_id} was left as it was: run `taskline task run {task_id}` again once"
        " the database can be written"
    )
    with deployment.library() as tl:
        assert tl.get_task(task_id).status.value == "IN_PROGRESS"
    again = deployment.cli("task", "run", task_id)
    assert again.returncode == 0, again.stderr
    expect_retried(deployment, task_id)


def test_a_read_only_filesystem_is_one_line_and_the_task_runs_once_it_is_writable(
    deployment: Deployment, disk: Path
) -> None:
    task_id = deployment.new_task()
    deployment.gate.touch()
    remount(disk, "ro")
    where = f"sqlite:///{disk}/home/taskline.db?timeout=1"

    for command in (("task", "cancel", task_id), ("task", "run", task_id)):
        refused = deployment.cli(*command)
        assert (refused.returncode, last_line(refused.stderr)) == (
            1,
            f"error: cannot open database {where}: unable to open database file",
        )
    remount(disk, "rw")
    again = deployment.cli("task", "run", task_id)
    assert again.returncode == 0, again.stderr


def expect_retried(deployment: Deployment, task_id: str) -> None:
    """The stranded run was closed as `crashed` and a retry completed the task."""
    with deployment.library() as tl:
        assert tl.get_task(task_id).status.value == "COMPLETED"
        runs = tl.runs(task_id)
        reasons = [(t.to_status.value, t.reason) for t in tl.transitions(task_id)]
    assert [(r.trigger, r.status, r.failure_category) for r in runs] == [
        ("first", "failed", "crashed"),
        ("retry", "submitted", None),
    ]
    assert runs[0].failure_message == INTERRUPTED
    assert ("FAILED", f"run 1 {INTERRUPTED}") in reasons
