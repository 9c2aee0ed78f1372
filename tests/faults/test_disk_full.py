"""A full filesystem mid-run: the run ends `crashed` or stays resumable, never stranded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.deployment import Deployment, fill, last_line, mounted_tmpfs


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "disk") as disk:
        yield disk


@pytest.fixture
def deployment(small_disk: Path, tmp_path: Path) -> Iterator[Deployment]:
    deployment = Deployment(small_disk / "home", tmp_path)
    yield deployment
    deployment.stop()  # before the disk is unmounted


def test_a_full_disk_mid_run_leaves_a_task_the_next_run_finishes(
    deployment: Deployment, small_disk: Path
) -> None:
    task_id = deployment.new_task()
    process = deployment.run_until_gate(task_id)
    filler = fill(small_disk)

    code, err = deployment.finish(process)

    assert code == 1
    home = small_disk / "home"
    assert last_line(err) == (
        f"error: database sqlite:///{home}/dbos.sqlite failed: database or disk is full;"
        f" task {task_id} was left as it was: run `taskline task run {task_id}` again once"
        " the database can be written"
    )
    filler.unlink()
    again = deployment.cli("task", "run", task_id)
    assert again.returncode == 0, again.stderr
    with deployment.library() as tl:
        assert tl.get_task(task_id).status.value == "COMPLETED"
        runs = tl.runs(task_id)
        costs = tl.cost_records(task_id)
    # DBOS could not record the workflow's end either: the next run resumed it from its
    # last checkpoint. The answer to call 2 came when nothing could be written: its record
    # stayed pending, and the next run kept it as lost (billed) before sending it again.
    assert [(r.number, r.status) for r in runs] == [(1, "submitted")]
    assert [(c.run_id, c.turn, c.state) for c in costs] == [
        (runs[0].id, 1, "answered"),
        (runs[0].id, 2, "lost"),
        (runs[0].id, 2, "answered"),
        (runs[0].id, 3, "answered"),
    ]
