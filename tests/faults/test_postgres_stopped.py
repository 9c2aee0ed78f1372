"""PostgreSQL stopped in the middle of a run, then started again."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from taskline.testing.postgres import PostgresServer, PostgresUnavailable, throwaway_postgres
from tests.faults.deployment import Deployment, last_line


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    """A server of this test's own: stopping it must not break the others' databases."""
    try:
        with throwaway_postgres() as server:
            yield server
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL tests must run in CI: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")


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


@pytest.mark.xfail(
    reason="open bug: with PostgreSQL stopped, `taskline task run` neither ends nor says"
    " one line; it was still retrying after 300 s (DBOS warnings on stderr)",
    run=False,
    strict=True,
)
def test_postgres_stopped_mid_run_is_one_line_and_the_task_runs_once_it_is_back(
    deployment: Deployment, server: PostgresServer, tmp_path: Path
) -> None:
    ledger = tmp_path / "agent.ledger"
    task_id = ledgered_task(deployment, ledger)
    process = deployment.run_until_gate(task_id)

    server.stop("immediate")
    code, err = deployment.finish(process)

    assert code == 1
    assert last_line(err).startswith("error: "), err
    assert task_id in last_line(err), err
    server.start()
    with deployment.library() as tl:
        assert tl.get_task(task_id).status.value == "IN_PROGRESS"
    again = deployment.cli("task", "run", task_id)
    assert again.returncode == 0, again.stderr
    with deployment.library() as tl:
        assert tl.get_task(task_id).status.value == "COMPLETED"
        records = tl.cost_records(task_id)
        runs = tl.runs(task_id)
    billed = ledger.read_text().splitlines()
    assert [(r.trigger, r.status) for r in runs][-1] == ("retry", "submitted")
    # One record per billed call: none lost while the database was away, none twice.
    assert [r.turn for r in records] == list(range(1, len(billed) + 1))
