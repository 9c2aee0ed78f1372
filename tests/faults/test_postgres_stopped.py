"""PostgreSQL stopped in the middle of a run, then started again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from taskline.testing.postgres import PostgresServer
from tests.conftest import postgres_or_skip
from tests.faults.deployment import Deployment, last_line


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    """A server of this test's own: stopping it must not break the others' databases.
    Durable, as a user's is: without fsync and synchronous commit, an immediate stop
    loses the last commits, and the run would resume from before what it recorded."""
    with postgres_or_skip(durable=True) as server:
        yield server


@pytest.fixture
def deployment(server: PostgresServer, tmp_path: Path) -> Iterator[Deployment]:
    deployment = Deployment(tmp_path / "home", tmp_path, server.create_database("taskline"))
    yield deployment
    deployment.stop()


def ledgered_task(deployment: Deployment, ledger: Path) -> str:
    """The gated task of `Deployment.new_task`, its agent writing a line per billed call."""
    task_id = deployment.new_task()
    script = deployment.gates / "script.json"
    content: dict[str, Any] = json.loads(script.read_text())
    script.write_text(json.dumps({**content, "ledger": str(ledger)}))
    return task_id


def stop_mid_run_then_resume(
    deployment: Deployment, server: PostgresServer, tmp_path: Path
) -> tuple[str, list[str]]:
    """Stop PostgreSQL while the run waits for its second answer, check the one-line end,
    start it again and resume: the task id and the ledger of billed calls."""
    ledger = tmp_path / "agent.ledger"
    task_id = ledgered_task(deployment, ledger)
    process = deployment.run_until_gate(task_id)

    server.stop("immediate")
    code, err = deployment.finish(process)

    assert code == 1
    line = last_line(err)
    assert line.startswith("error: database postgresql+psycopg://postgres@127.0.0.1:"), err
    assert line.endswith(
        f"; task {task_id} was left as it was: run `taskline task run {task_id}` again"
        " once the database can be written"
    ), err
    server.start()
    with deployment.library() as tl:
        assert tl.get_task(task_id).status.value == "IN_PROGRESS"
    again = deployment.cli("task", "run", task_id)
    assert again.returncode == 0, again.stderr
    return task_id, ledger.read_text().splitlines()


def test_postgres_stopped_mid_run_is_one_line_and_the_run_resumes_once_it_is_back(
    deployment: Deployment, server: PostgresServer, tmp_path: Path
) -> None:
    task_id, billed = stop_mid_run_then_resume(deployment, server, tmp_path)
    with deployment.library() as tl:
        assert tl.get_task(task_id).status.value == "COMPLETED"
        records = tl.cost_records(task_id)
        runs = tl.runs(task_id)
    # The same run, resumed: not a retry that starts the work over.
    assert [(r.number, r.trigger, r.status) for r in runs] == [(1, "first", "submitted")]
    assert [r.turn for r in records if r.state == "answered"] == [1, 2, 3]


def test_postgres_stopped_mid_run_leaves_a_record_of_every_billed_call(
    deployment: Deployment, server: PostgresServer, tmp_path: Path
) -> None:
    task_id, billed = stop_mid_run_then_resume(deployment, server, tmp_path)
    with deployment.library() as tl:
        records = tl.cost_records(task_id)
    # The second call was answered while the database was away: its record could not be
    # completed, so the resumed run found its intent, kept it as lost and sent it again.
    assert [(r.turn, r.state) for r in records] == [
        (1, "answered"), (2, "lost"), (2, "answered"), (3, "answered")
    ]  # fmt: skip
    assert len(billed) == len(records) == 4
