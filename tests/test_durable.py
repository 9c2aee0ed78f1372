"""Durable runs: processes killed at many points resume with nothing lost or paid twice.

Every test here drives the real `taskline` script in subprocesses, the way a
user or a supervisor runs it, against SQLite and PostgreSQL. The agent is a
scripted model that answers by turn (so a resumed process gets the answer the
run is at), waits a little per answer, and writes each answer it serves to a
ledger: what the provider "billed".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from taskline import Taskline
from taskline.views import TaskDetailView
from tests.conftest import BACKENDS, new_database_url

SCRIPT = Path(sys.executable).parent / "taskline"
TURNS = 5  # write_file calls; then submit_work
COST = Decimal("0.001")
# A ceiling, never a wait: generous for a loaded machine, where a process takes seconds
# to start.
WAIT_SECONDS = 300.0
# How often a wait looks again: at a file often, so that a kill lands where it is meant
# to; at the database (or a server that reads it) a few times a second, since each look
# there takes CPU that the processes under test need on a loaded machine.
FILE_POLL_SECONDS = 0.005
DB_POLL_SECONDS = 0.05


class Deployment:
    """One taskline home and database, driven through the CLI."""

    def __init__(self, home: Path, database_url: str, tmp_path: Path) -> None:
        self.env = {**os.environ, "TASKLINE_HOME": str(home)}
        self.env["TASKLINE_DATABASE_URL"] = database_url
        self.env["TASKLINE_DURABLE"] = "1"
        self.tmp_path = tmp_path

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [SCRIPT, *args], env=self.env, capture_output=True, text=True, check=False
        )
        if check:
            assert done.returncode == 0, done.stderr
        return done

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        with (self.tmp_path / "processes.log").open("ab") as log:
            return subprocess.Popen([SCRIPT, *args], env=self.env, stdout=log, stderr=log)

    def new_task(
        self, name: str, delay_seconds: float = 0.05, gate: Path | None = None, **fields: Any
    ) -> tuple[str, Path]:
        """A task assigned to its own scripted agent; returns its id and the agent's ledger.

        With `gate`, the model's second answer waits until that file exists (having created
        `<gate>.waiting`)."""
        ledger = self.tmp_path / f"{name}.ledger"
        ledger.touch()
        responses: list[dict[str, Any]] = [
            answer("write_file", {"path": f"f{i}.txt", "content": f"{i}\n"}, delay_seconds)
            for i in range(TURNS)
        ]
        responses.append(answer("submit_work", {"summary": f"{name} done"}, delay_seconds))
        if gate is not None:
            responses[1]["wait_for_file"] = str(gate)
        script = self.tmp_path / f"{name}.json"
        script.write_text(
            json.dumps({"responses": responses, "by_turn": True, "ledger": str(ledger)})
        )
        with self.library() as tl:
            tl.add_agent(name, model=f"scripted:{script}")
            task = tl.create_task(name, max_turns=20, **fields)
            tl.assign(task.id, name)
        return task.id, ledger

    def library(self) -> Taskline:
        """The library on the same database, for setting up and checking (not running)."""
        return Taskline.open(env=self.env, durable=False)

    def show(self, task_id: str) -> dict[str, Any]:
        with self.library() as tl:
            view = TaskDetailView.of_detail(
                tl.get_task(task_id), tl.transitions(task_id), (), tl.detail(task_id)
            )
            return view.model_dump(mode="json")

    def costs(self, task_id: str) -> list[dict[str, Any]]:
        with self.library() as tl:
            return [r.model_dump(mode="json") for r in tl.cost_records(task_id)]


def answer(tool: str, arguments: dict[str, str], delay_seconds: float) -> dict[str, Any]:
    return {
        "tool_calls": [{"name": tool, "arguments": arguments}],
        "usage": {"input_tokens": 100, "output_tokens": 10},
        "cost_usd": str(COST),
        "delay_seconds": delay_seconds,
    }


def ledger_lines(ledger: Path) -> int:
    return len(ledger.read_text().splitlines())


def wait_for(
    condition: Callable[[], bool],
    timeout_seconds: float = WAIT_SECONDS,
    poll_seconds: float = FILE_POLL_SECONDS,
) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(poll_seconds)


def wait_until_billed(ledger: Path, calls: int, process: subprocess.Popen[bytes]) -> None:
    """Until the model has served `calls` answers, or the process ended."""
    wait_for(lambda: ledger_lines(ledger) >= calls or process.poll() is not None)


def wait_until_completed(deployment: Deployment, task_id: str) -> None:
    wait_for(
        lambda: deployment.show(task_id)["status"] == "COMPLETED", poll_seconds=DB_POLL_SECONDS
    )


def assert_exactly_once(
    deployment: Deployment, task_id: str, ledger: Path, *, kills: int = 0
) -> None:
    """COMPLETED; one answered record per turn; every billed call accounted for, answered
    or lost, with at most one lost record per kill; contiguous turns; the cost billed, each
    lost call counted at the estimate its second sending lent it."""
    shown = deployment.show(task_id)
    assert shown["status"] == "COMPLETED", shown["failure"]
    [run] = shown["runs"]
    assert [turn["number"] for turn in run["turns"]] == list(range(1, TURNS + 2))
    records = deployment.costs(task_id)
    answered = [record["turn"] for record in records if record["state"] == "answered"]
    lost = [record for record in records if record["state"] == "lost"]
    assert answered == list(range(1, TURNS + 2))
    billed = ledger_lines(ledger)
    assert billed <= len(answered) + len(lost) <= billed + kills
    assert len(lost) <= kills
    assert all(record["price_source"] == "estimate" for record in lost)
    assert shown["metrics"]["lost_calls"] == len(lost)
    calls = len(answered) + len(lost)
    assert Decimal(str(shown["metrics"]["cost_per_task"])) == COST * calls
    workspace = Path(deployment.env["TASKLINE_HOME"]) / "workspaces" / task_id
    assert sorted(p.name for p in workspace.iterdir()) == [f"f{i}.txt" for i in range(TURNS)]


@pytest.fixture(params=BACKENDS)
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Deployment:
    return Deployment(
        tmp_path / "home", new_database_url(request.param, tmp_path, request), tmp_path
    )


# A kill point: calls billed before the kill, then seconds more. Each round kills one
# task after every call, a little later each round: 0 s after the provider answered
# (before the answer can be recorded), inside a tool, between turns, inside the next
# model call. Whatever the point, every billed call has a record, answered or lost.
ROUND_DELAYS_SECONDS = (0.0, 0.01, 0.03, 0.05, 0.08)
KILL_POINTS = [(n, extra) for extra in ROUND_DELAYS_SECONDS for n in range(1, TURNS + 2)]


def test_killed_at_many_points_accounts_for_every_billed_call(deployment: Deployment) -> None:
    assert len(KILL_POINTS) >= 20
    tasks = [deployment.new_task(f"agent-{i}") for i in range(len(ROUND_DELAYS_SECONDS))]
    kills = 0
    for (task_id, ledger), extra in zip(tasks, ROUND_DELAYS_SECONDS, strict=True):
        for billed in range(1, TURNS + 2):  # the last: after submit_work, during review
            process = deployment.start("task", "run", task_id)
            wait_until_billed(ledger, billed, process)
            time.sleep(extra)
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
        shown = deployment.show(task_id)
        if shown["status"] != "COMPLETED" or shown["metrics"] is None:
            # Resume what the last kill interrupted (it may have died after the move to
            # COMPLETED and before the metrics, both in the last step).
            deployment.cli("task", "run", task_id)
        assert_exactly_once(deployment, task_id, ledger, kills=TURNS + 1)
    assert kills == len(KILL_POINTS)


def test_cancel_stops_a_running_run(deployment: Deployment) -> None:
    task_id, ledger = deployment.new_task("slow", delay_seconds=1.5)
    process = deployment.start("task", "run", task_id)
    wait_for(lambda: ledger_lines(ledger) >= 2)
    deployment.cli("task", "cancel", task_id, "--reason", "not needed")
    # The run notices within about a second; the deadline is only a ceiling. That the
    # run itself ended as `cancelled` (below) shows the cancel, not the script, stopped it.
    process.wait(timeout=WAIT_SECONDS)
    shown = deployment.show(task_id)
    assert shown["status"] == "CANCELLED"
    assert [run["status"] for run in shown["runs"]] == ["cancelled"]
    assert shown["transitions"][-1]["reason"] == "not needed"
    # The call the cancel interrupted may have been billed: it is kept as lost.
    states = [record["state"] for record in deployment.costs(task_id)]
    billed = ledger_lines(ledger)
    assert states in (["answered"] * billed, ["answered"] * billed + ["lost"])


def test_sigterm_to_a_worker_leaves_the_run_resumable(deployment: Deployment) -> None:
    task_id, ledger = deployment.new_task("patient", delay_seconds=0.5)
    deployment.cli("task", "run", task_id, "--detach")
    worker = deployment.start("worker", "--id", "w1", "--concurrency", "1")
    wait_for(lambda: ledger_lines(ledger) >= 3)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=WAIT_SECONDS) == 0
    assert deployment.show(task_id)["status"] == "IN_PROGRESS"
    restarted = deployment.start("worker", "--id", "w1", "--concurrency", "1")
    try:
        wait_until_completed(deployment, task_id)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=WAIT_SECONDS)
    # A call parked when the worker stopped was declared and never answered: lost.
    assert_exactly_once(deployment, task_id, ledger, kills=1)


def test_a_live_worker_adopts_the_runs_of_a_dead_one(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    deployment = Deployment(
        tmp_path / "home", new_database_url("postgresql", tmp_path, request), tmp_path
    )
    # The first two runs' second calls wait at gates: the kill finds both mid-run, however
    # slowly the machine polls (a deadline on their progress failed under load).
    gates = [tmp_path / "gate-0", tmp_path / "gate-1"]
    tasks = [
        deployment.new_task(f"job-{i}", delay_seconds=0.3, gate=gates[i] if i < 2 else None)
        for i in range(4)
    ]
    options = ("--concurrency", "2", "--heartbeat-timeout", "2")
    for task_id, _ledger in tasks[:2]:
        deployment.cli("task", "run", task_id, "--detach")
    doomed = deployment.start("worker", "--id", "doomed", *options)
    wait_for(lambda: all(gate.with_name(gate.name + ".waiting").exists() for gate in gates))
    doomed.send_signal(signal.SIGKILL)  # mid-call: two runs left behind
    doomed.wait()
    assert [deployment.show(t)["status"] for t, _ in tasks[:2]] == ["IN_PROGRESS"] * 2
    for gate in gates:
        gate.touch()  # the calls re-issued after the adoption answer at once
    for task_id, _ledger in tasks[2:]:
        deployment.cli("task", "run", task_id, "--detach")
    survivor = deployment.start("worker", "--id", "survivor", *options)
    try:
        for task_id, _ledger in tasks:
            wait_until_completed(deployment, task_id)
    finally:
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(timeout=WAIT_SECONDS)
    for task_id, ledger in tasks:
        assert_exactly_once(deployment, task_id, ledger, kills=1)
    with deployment.library() as tl, tl.store.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(text("SELECT id, status, adopted_by FROM workers ORDER BY id"))
        assert [tuple(row) for row in rows] == [
            ("doomed", "adopted", "survivor"),
            ("survivor", "stopped", None),
        ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_threads_of_durable_runs_are_few(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # DBOS's own default is a thread per blocking call in flight: a hundred runs grew a
    # hundred threads, 440 KiB of malloc arenas per run in flight (durable.EXECUTOR_THREADS).
    url = new_database_url(backend, tmp_path, request, migrated=True)
    probe = (
        "from pathlib import Path\n"
        "from dbos import _dbos\n"
        "from taskline import Taskline\n"
        f"with Taskline.open(home=Path({str(tmp_path / 'home')!r}), url={url!r}, env={{}}) as tl:\n"
        "    tl.start_durable()\n"
        "    print(_dbos._get_dbos_instance()._executor._max_workers)\n"
        "    tl.stop_durable()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == {"sqlite": "2\n", "postgresql": "4\n"}[backend]


COUNTING_EXECUTORS = """
import sys
from taskline import Taskline

class Counting(Taskline):
    made = 0

    def executor(self, *args, **kwargs):
        Counting.made += 1
        return super().executor(*args, **kwargs)

with Counting.open(durable=sys.argv[2] == "durable") as tl:
    done = tl.run_task(sys.argv[1])
print(done.status.value, Counting.made)
"""


@pytest.mark.parametrize("mode", ["durable", "inline"])
def test_a_run_is_checked_and_run_on_one_executor(deployment: Deployment, mode: str) -> None:
    task_id, _ledger = deployment.new_task("once", delay_seconds=0)
    done = subprocess.run(
        [sys.executable, "-c", COUNTING_EXECUTORS, task_id, mode],
        env=deployment.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "COMPLETED 1\n"


def test_a_budgeted_run_resumed_after_its_last_call_ends_within_its_budget(
    deployment: Deployment,
) -> None:
    # The budget pays for exactly the six calls. The check waits for a file the test
    # writes only after killing the run there, in review, with every call answered; the
    # resumed run replays the six turns and must not count them as spent before a call.
    task_id, ledger = deployment.new_task(
        "budgeted",
        delay_seconds=0,
        budget_usd=COST * (TURNS + 1),
        checks=["until [ -e go ]; do sleep 0.05; done"],
    )
    process = deployment.start("task", "run", task_id)
    wait_for(
        lambda: [r["state"] for r in deployment.costs(task_id)] == ["answered"] * (TURNS + 1),
        poll_seconds=DB_POLL_SECONDS,
    )
    wait_for(
        lambda: deployment.show(task_id)["status"] == "IN_REVIEW", poll_seconds=DB_POLL_SECONDS
    )
    process.send_signal(signal.SIGKILL)
    process.wait()
    workspace = Path(deployment.env["TASKLINE_HOME"]) / "workspaces" / task_id
    (workspace / "go").touch()

    deployment.cli("task", "run", task_id)

    shown = deployment.show(task_id)
    assert (shown["status"], shown["failure"]) == ("COMPLETED", None)
    assert ledger_lines(ledger) == TURNS + 1
    assert [r["state"] for r in deployment.costs(task_id)] == ["answered"] * (TURNS + 1)
    assert Decimal(str(shown["metrics"]["cost_per_task"])) == COST * (TURNS + 1)


def test_a_plain_run_takes_two_checkpoints_and_keeps_its_artifacts_and_verdict(
    deployment: Deployment,
) -> None:
    # The snapshot goes in the start step, the artifacts in the move into IN_REVIEW, the
    # automatic verdict in the move to COMPLETED, which needs no checkpoint (a replay
    # finds it made); a task without checks takes no step for them.
    task_id, _ledger = deployment.new_task("plain", delay_seconds=0)

    deployment.cli("task", "run", task_id)

    url = deployment.env["TASKLINE_DATABASE_URL"]
    if url.startswith("sqlite"):
        url = f"sqlite:///{Path(deployment.env['TASKLINE_HOME']) / 'dbos.sqlite'}"
        table = "operation_outputs"
    else:
        table = "dbos.operation_outputs"
    engine = create_engine(url)
    with engine.connect() as conn:
        steps = conn.execute(
            text(f"SELECT function_name FROM {table} ORDER BY function_id")
        ).scalars()
        recorded = list(steps)
    engine.dispose()
    shown = deployment.show(task_id)
    assert recorded == ["start", "submitted"]
    assert shown["status"] == "COMPLETED"
    assert [(r["reviewer"], r["approved"]) for r in shown["reviews"]] == [("auto", True)]
    assert sorted(a["path"] for a in shown["artifacts"]) == [f"f{i}.txt" for i in range(TURNS)]
