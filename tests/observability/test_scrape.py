"""What a scrape answers: the counts, and the state of the database read at that moment
(SQLite and PostgreSQL); the sums of several worker processes; promtool's verdict."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from taskline import Taskline
from taskline.errors import StoreError
from taskline.lifecycle import Status
from taskline.llm.types import ToolCall, Usage
from taskline.models import Task
from taskline.observability.metrics import Metrics
from taskline.observability.scrape import MULTIPROCESS_ENV, exposition
from taskline.records import Worker
from taskline.tools.result import ToolResult
from tests.observability.exposition import samples
from tests.observability.test_metrics import answer, call, run_record

REPOSITORY = Path(__file__).parents[2]
BEAT = "taskline_worker_last_heartbeat_timestamp_seconds"
NO_TASKS = {f'taskline_tasks{{status="{status.value}"}}': 0.0 for status in Status}


class Quiet:
    """A database with nothing in it."""

    def count_tasks(self) -> Mapping[Status, int]:
        return {}

    def queued_runs(self) -> int:
        return 0

    def workers(self) -> Sequence[Worker]:
        return []


class Unreachable(Quiet):
    """A database that cannot be read."""

    def count_tasks(self) -> Mapping[Status, int]:
        raise StoreError("cannot open database /nowhere/taskline.db: unable to open database file")


def test_a_scrape_reads_tasks_the_queue_and_workers_from_the_database(
    tl: Taskline, tmp_path: Path
) -> None:
    tl.home = tmp_path / "home"  # where DBOS keeps the queue of a SQLite store
    tl.home.mkdir()
    for title in ("a", "b", "c"):
        tl.create_task(title)
    for title in ("d", "e"):
        tl.assign(tl.create_task(title).id, "coder")
    tl.enqueue_run(tl.list_tasks(Status.ASSIGNED)[-1].id)
    tl.cancel(tl.create_task("f").id)
    tl.store.heartbeat("w-1")
    tl.store.heartbeat("w-2")
    tl.store.stop_worker("w-2")
    beats = {worker.id: worker.last_seen_at.timestamp() for worker in tl.workers()}

    body, content_type = exposition(tl, Metrics())

    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert samples(body) == {
        "taskline_database_up": 1.0,
        **NO_TASKS,
        'taskline_tasks{status="CREATED"}': 3.0,
        'taskline_tasks{status="ASSIGNED"}': 2.0,
        'taskline_tasks{status="CANCELLED"}': 1.0,
        "taskline_run_queue_depth": 1.0,
        f'{BEAT}{{status="running",worker="w-1"}}': beats["w-1"],
        f'{BEAT}{{status="stopped",worker="w-2"}}': beats["w-2"],
    }


def test_a_scrape_holds_the_counts_without_their_created_series() -> None:
    metrics = Metrics()
    call(metrics, answer(Usage(input_tokens=100, output_tokens=20), "0.001"))

    body, _content_type = exposition(Quiet(), metrics)

    assert samples(body, "taskline_model_cost") == {
        'taskline_model_cost_usd_total{agent="coder",model="gpt-test",provider="scripted"}': 0.001
    }
    assert b"_created" not in body


def test_a_database_that_cannot_be_read_is_said_and_the_counts_are_still_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    metrics.moved(Task(title="t", status=Status.CANCELLED), Status.CREATED, actor="u", reason="")

    with caplog.at_level(logging.WARNING, "taskline.observability.scrape"):
        body, _content_type = exposition(Unreachable(), metrics)

    assert samples(body) == {
        'taskline_transitions_total{from="CREATED",to="CANCELLED"}': 1.0,
        "taskline_database_up": 0.0,
    }
    assert [record.getMessage() for record in caplog.records] == [
        "taskline metrics: cannot read the database: cannot open database"
        " /nowhere/taskline.db: unable to open database file"
    ]


# Counts in a process of its own: one worker of `taskline worker --processes N`.
WORKER = """
import sys
from taskline.lifecycle import Status
from taskline.models import Task
from taskline.observability.metrics import process_metrics
from tests.observability.test_metrics import answer, call
from taskline.llm.types import Usage

metrics = process_metrics()
for _ in range(int(sys.argv[1])):
    metrics.moved(Task(title="t", status=Status.COMPLETED), Status.IN_REVIEW, actor="c", reason="")
    call(metrics, answer(Usage(input_tokens=100, output_tokens=20), "0.25", latency_ms=500))
"""


def test_the_counts_of_several_processes_are_served_as_their_sums(tmp_path: Path) -> None:
    counts = tmp_path / "counts"
    counts.mkdir()
    env = {**os.environ, MULTIPROCESS_ENV: str(counts)}
    for calls in (2, 3):
        subprocess.run(
            [sys.executable, "-c", WORKER, str(calls)], env=env, check=True, cwd=REPOSITORY
        )

    body, _content_type = exposition(Quiet(), processes_dir=counts)

    cost = 'taskline_model_cost_usd_total{agent="coder",model="gpt-test",provider="scripted"}'
    latency = 'model="gpt-test",outcome="ok",provider="scripted"'
    found = samples(body, "taskline_transitions", "taskline_model_cost", "taskline_model_call_d")
    assert {
        key: value for key, value in found.items() if "_bucket" not in key or 'le="0.5"' in key
    } == {
        'taskline_transitions_total{from="IN_REVIEW",to="COMPLETED"}': 5.0,
        cost: 1.25,
        f'taskline_model_call_duration_seconds_bucket{{le="0.5",{latency}}}': 5.0,
        f"taskline_model_call_duration_seconds_count{{{latency}}}": 5.0,
        f"taskline_model_call_duration_seconds_sum{{{latency}}}": 2.5,
    }
    assert samples(body, "taskline_database_up", "taskline_run_queue") == {
        "taskline_database_up": 1.0,
        "taskline_run_queue_depth": 0.0,
    }


def test_promtool_finds_nothing_to_say_of_a_real_scrape(tl: Taskline, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool must run in CI: install Debian's `prometheus` package")
        pytest.skip("promtool not available: install Debian's `prometheus` package")
    tl.home = tmp_path / "home"
    tl.home.mkdir()
    metrics = Metrics()
    every_kind = Usage(
        input_tokens=900, output_tokens=80, cache_read_tokens=500, cache_write_tokens=100,
        reasoning_tokens=30,
    )  # fmt: skip
    call(metrics, answer(every_kind, "0.003"))
    call(metrics, answer(every_kind, None))
    with metrics.run(run_record("running", seconds=None)) as watch:
        watch.ended(run_record("failed", "max_turns", seconds=30))
    with metrics.tool_call(ToolCall(id="c1", name="read_file")) as tool:
        tool.ended(ToolResult(output="x", duration_ms=3))
    with metrics.review("checks", "checks") as review:
        review.ended(True)
    metrics.turn_ended(run_record("running", seconds=None), 1.5)
    metrics.moved(Task(title="t", status=Status.ASSIGNED), Status.CREATED, actor="u", reason="")
    tl.create_task("waiting")
    tl.store.heartbeat("w-1")
    body, _content_type = exposition(tl, metrics)

    checked = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, check=False
    )

    assert (checked.returncode, checked.stdout, checked.stderr) == (0, b"", b"")
