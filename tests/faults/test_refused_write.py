"""One kind of write refused by the database mid-run while every other write still works:
the run ends `crashed` with one line, and the task can be run again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import new_database_url
from tests.faults.deployment import Deployment, last_line

REASON = "cost records are refused here"
# A real database error for the cost records only, as a DBA's trigger or a damaged table
# would give: the run's end, its transitions and its metrics can still be written.
REFUSE_COST_RECORDS = {
    "sqlite": [
        "CREATE TRIGGER refuse_cost_records BEFORE INSERT ON cost_records"
        f" BEGIN SELECT RAISE(ABORT, '{REASON}'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse() RETURNS trigger AS"
        f" $$ BEGIN RAISE EXCEPTION '{REASON}'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_cost_records BEFORE INSERT ON cost_records"
        " FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
}


@pytest.fixture(
    params=[("sqlite", "1"), ("sqlite", "0"), ("postgresql", "1")],
    ids=["sqlite-durable", "sqlite-inline", "postgresql-durable"],
)
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    backend, durable = request.param
    url = new_database_url(backend, tmp_path, request)
    deployment = Deployment(tmp_path / "home", tmp_path, url)
    deployment.env["TASKLINE_DURABLE"] = durable
    yield deployment
    deployment.stop()


def run_sql(url: str, statements: list[str]) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def test_a_write_refused_mid_run_ends_the_run_crashed_in_one_line(
    deployment: Deployment,
) -> None:
    url = deployment.env["TASKLINE_DATABASE_URL"]
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    where = sa.make_url(url).render_as_string(hide_password=True)
    task_id = deployment.new_task()
    process = deployment.run_until_gate(task_id)
    # Turn 2's call is in flight, its record declared before: its answer completes that
    # record, and the write of the turn with the intent of call 3 is the one refused.
    run_sql(url, REFUSE_COST_RECORDS[backend])

    code, err = deployment.finish(process)

    assert code == 1
    assert last_line(err) == (
        f"error: task {task_id} FAILED (crashed): database {where} failed: {REASON}"
        f" (details: taskline task show {task_id})"
    )
    with deployment.library() as tl:
        [run] = tl.runs(task_id)
        assert (run.status, run.failure_category, run.failure_message) == (
            "failed",
            "crashed",
            f"database {where} failed: {REASON}",
        )
    run_sql(
        url,
        [
            "DROP TRIGGER refuse_cost_records"
            + (" ON cost_records" if backend == "postgresql" else "")
        ],
    )
    again = deployment.cli("task", "run", task_id)
    assert again.returncode == 0, again.stderr
    with deployment.library() as tl:
        assert tl.get_task(task_id).status.value == "COMPLETED"
        runs = tl.runs(task_id)
        records = tl.cost_records(task_id)
    assert [(r.number, r.trigger, r.status) for r in runs] == [
        (1, "first", "failed"),
        (2, "retry", "submitted"),
    ]
    assert [(r.run_id, r.turn, r.state) for r in records] == [
        *((runs[0].id, turn, "answered") for turn in (1, 2)),
        *((runs[1].id, turn, "answered") for turn in (1, 2, 3)),
    ]
