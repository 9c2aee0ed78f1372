"""`taskline worker --processes N`: N workers on one queue, supervised by one parent.

The first tests drive the supervisor with small Python children whose exits are
known, and an injected clock; the rest run the real `taskline` script against
SQLite and PostgreSQL, with the scripted agents of tests/test_durable.py (each
answer served is a line in a ledger) and runs that wait at gate files, so that
which process holds which run is known, not timed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dbos import DBOSClient
from sqlalchemy import text
from typer.testing import CliRunner

from taskline import durable
from taskline.cli import app
from taskline.cli import worker as worker_command
from taskline.errors import WorkerProcessError
from taskline.supervisor import RestartLimit, child_ids, supervise
from tests.conftest import BACKENDS, new_database_url
from tests.faults.deployment import wait_for
from tests.test_durable import SCRIPT, Deployment, assert_exactly_once, ledger_lines

# Only a ceiling: on a machine loaded by other test runs, starting DBOS alone has taken
# over a minute.
WAIT_SECONDS = 300.0

# A child that says it is ready (creates argv[1]), waits for SIGTERM, then exits with argv[2].
PATIENT = """
import pathlib, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
pathlib.Path(sys.argv[1]).touch()
signal.sigwait({signal.SIGTERM})
sys.exit(int(sys.argv[2]))
"""
# A child that exits with 3 the first argv[2] times it starts, then with 0; argv[1] counts.
FLAKY = """
import pathlib, sys
starts = pathlib.Path(sys.argv[1])
count = len(starts.read_text()) if starts.exists() else 0
starts.write_text("x" * (count + 1))
sys.exit(3 if count < int(sys.argv[2]) else 0)
"""


def python(code: str, *args: object) -> list[str]:
    return [sys.executable, "-c", code, *map(str, args)]


# --- the supervisor, with children whose exits are known ---------------------------------


def test_a_child_that_keeps_dying_is_given_up_on_and_the_others_are_stopped(
    tmp_path: Path,
) -> None:
    reported: list[str] = []
    commands = {
        "w-1": python(FLAKY, tmp_path / "starts", 100),
        "w-2": python(PATIENT, tmp_path / "ready", 0),
    }
    with pytest.raises(WorkerProcessError) as raised:
        # A clock that never moves: every death falls within the window.
        supervise(commands, report=reported.append, clock=lambda: 0.0)
    assert str(raised.value) == (
        "worker w-1 died 6 times within 60 s (exited with code 3); gave up and stopped the others"
    )
    assert raised.value.worker_ids == ("w-1",)
    assert reported == ["worker w-1 exited with code 3; starting it again"] * 5
    assert (tmp_path / "starts").read_text() == "x" * 6


def test_deaths_spread_wider_than_the_window_are_survived(tmp_path: Path) -> None:
    reported: list[str] = []
    ticks = iter(range(0, 10_000, 61))  # each death 61 s after the last
    supervise(
        {"w-1": python(FLAKY, tmp_path / "starts", 7)},
        report=reported.append,
        limit=RestartLimit(deaths=5, window_seconds=60),
        clock=lambda: float(next(ticks)),
    )
    assert reported == [
        *["worker w-1 exited with code 3; starting it again"] * 7,
        "worker w-1 was stopped; it stays stopped, the others go on",
    ]
    assert (tmp_path / "starts").read_text() == "x" * 8


def test_sigterm_is_passed_on_and_a_child_that_fails_to_stop_is_named(tmp_path: Path) -> None:
    ready = [tmp_path / "ready-1", tmp_path / "ready-2"]
    commands = {"w-1": python(PATIENT, ready[0], 0), "w-2": python(PATIENT, ready[1], 1)}

    def stop_when_ready() -> None:
        try:
            wait_for(lambda: all(path.exists() for path in ready), "both children to start")
        finally:  # to the supervisor, which runs in this process's main thread
            os.kill(os.getpid(), signal.SIGTERM)

    handler = signal.getsignal(signal.SIGTERM)
    stopper = threading.Thread(target=stop_when_ready)
    stopper.start()
    reported: list[str] = []
    with pytest.raises(WorkerProcessError) as raised:
        supervise(commands, report=reported.append)
    stopper.join()
    assert all(path.exists() for path in ready)
    assert str(raised.value) == "worker w-2 exited with code 1"
    assert raised.value.worker_ids == ("w-2",)
    assert reported == []
    assert signal.getsignal(signal.SIGTERM) == handler  # its own handlers are gone


def test_children_are_named_after_the_worker() -> None:
    assert child_ids("db-host", 3) == ["db-host-1", "db-host-2", "db-host-3"]


def test_the_parent_names_the_queue_the_workers_take_runs_from() -> None:
    assert worker_command.RUN_QUEUE == durable.RUN_QUEUE


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--processes=0", "Invalid value for '--processes': Input should be greater than or"),
        ("--processes=two", "Invalid value for '--processes': Input should be a valid integer"),
        ("--procesess=2", "No such option: --procesess"),
    ],
)
def test_a_wrong_number_of_processes_is_a_usage_error(option: str, message: str) -> None:
    result = CliRunner().invoke(app, ["worker", option])
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.replace("│", " ").split())
    assert "Traceback" not in result.stderr


# --- the real `taskline worker --processes 2` -----------------------------------------------


class Pool:
    """`taskline worker --id pool --processes N …` started by a test; stderr kept in a file."""

    def __init__(self, deployment: Deployment, number: int, *options: str) -> None:
        self.stderr = deployment.tmp_path / f"pool-{number}.stderr"
        with self.stderr.open("wb") as stderr:
            self.process = subprocess.Popen(
                [SCRIPT, "worker", "--id", "pool", *options],
                env=deployment.env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )

    def children(self) -> dict[str, int]:
        """The pid of each live child process, by worker id."""
        return children_of(self.process.pid)

    def stop(self) -> int:
        """SIGTERM, as a supervisor or a person would send it; the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=WAIT_SECONDS)

    def worker_lines(self) -> list[str]:
        """What the parent and the children said on stderr, progress lines left out, sorted
        (the children write at the same time)."""
        lines = self.stderr.read_text().splitlines()
        return sorted(line for line in lines if not line.startswith("run "))


def children_of(parent_pid: int) -> dict[str, int]:
    """The pids of the live `taskline worker --id ID` children of `parent_pid`, by ID."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone while we looked
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent_pid and state != "Z" and b"--id" in arguments:
            found[arguments[arguments.index(b"--id") + 1].decode()] = int(entry.name)
    return found


@pytest.fixture
def pools() -> Iterator[Callable[..., Pool]]:
    """Starts pools; kills whatever a failed test left running."""
    started: list[Pool] = []

    def start(deployment: Deployment, *options: str) -> Pool:
        pool = Pool(deployment, len(started), *options)
        started.append(pool)
        return pool

    yield start
    for pool in started:
        if pool.process.poll() is None:
            for pid in pool.children().values():
                os.kill(pid, signal.SIGKILL)
            pool.process.kill()
            pool.process.wait()


@pytest.fixture(params=BACKENDS)
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Deployment:
    return Deployment(
        tmp_path / "home", new_database_url(request.param, tmp_path, request), tmp_path
    )


def waiting(gate: Path) -> Path:
    """The file a scripted call creates when it starts waiting for `gate`."""
    return gate.with_name(gate.name + ".waiting")


def executors(deployment: Deployment, task_id: str) -> list[str | None]:
    """The worker ids that executed (or execute) each run of the task, as DBOS records them."""
    home = Path(deployment.env["TASKLINE_HOME"])
    url = durable.system_database_url(deployment.env["TASKLINE_DATABASE_URL"], home)
    client = DBOSClient(system_database_url=url, application_name=durable.APP_NAME)
    try:
        runs = client.list_workflows(workflow_id_prefix=f"run-{task_id}-")
        return [run.executor_id for run in runs]
    finally:
        client.destroy()


def heartbeats(deployment: Deployment) -> list[tuple[str, str]]:
    """Each worker in the `workers` table and its status."""
    with deployment.library() as tl, tl.store.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(text("SELECT id, status FROM workers ORDER BY id"))
        return [(row.id, row.status) for row in rows]


def wait_until_completed(deployment: Deployment, task_id: str) -> None:
    """Until the task is COMPLETED and its metrics are stored (the same step, a moment later)."""

    def done() -> bool:
        shown = deployment.show(task_id)
        return shown["status"] == "COMPLETED" and shown["metrics"] is not None

    wait_for(done, f"{task_id} to complete")


def started_lines(concurrency: int) -> list[str]:
    """What `taskline worker --id pool --processes 2` and its two children say on starting."""
    return [
        f"worker pool-1: taking runs from queue taskline-runs ({concurrency} at a time);"
        " Ctrl-C or SIGTERM to stop",
        f"worker pool-2: taking runs from queue taskline-runs ({concurrency} at a time);"
        " Ctrl-C or SIGTERM to stop",
        f"worker pool: 2 processes taking runs from queue taskline-runs ({concurrency} at a"
        " time each); Ctrl-C or SIGTERM to stop",
    ]


def test_two_processes_take_runs_from_one_queue(
    deployment: Deployment, pools: Callable[..., Pool]
) -> None:
    gates = [deployment.tmp_path / "gate-0", deployment.tmp_path / "gate-1"]
    gated = [deployment.new_task(f"gated-{i}", gate=gate) for i, gate in enumerate(gates)]
    quick = [deployment.new_task(f"quick-{i}") for i in range(2)]
    for task_id, _ledger in gated + quick:
        deployment.cli("task", "run", task_id, "--detach")
    pool = pools(deployment, "--processes", "2", "--concurrency", "1")
    # Both gated runs wait at once, and each process runs one run at a time: each process
    # holds one of them, whichever took the quick ones.
    wait_for(
        lambda: all(waiting(gate).exists() for gate in gates) or pool.process.poll() is not None,
        "both gated runs to wait at their gates",
    )
    assert pool.process.poll() is None, pool.stderr.read_text()
    held = [executors(deployment, task_id) for task_id, _ledger in gated]
    assert sorted(held, key=str) == [["pool-1"], ["pool-2"]]
    for gate in gates:
        gate.touch()
    for task_id, ledger in gated + quick:
        wait_until_completed(deployment, task_id)
        assert_exactly_once(deployment, task_id, ledger)
    assert heartbeats(deployment) == [("pool-1", "running"), ("pool-2", "running")]
    assert pool.stop() == 0
    assert heartbeats(deployment) == [("pool-1", "stopped"), ("pool-2", "stopped")]
    assert pool.worker_lines() == started_lines(concurrency=1)


def test_sigterm_to_the_parent_stops_every_child_and_leaves_the_run_resumable(
    deployment: Deployment, pools: Callable[..., Pool]
) -> None:
    task_id, ledger = deployment.new_task("patient", delay_seconds=0.5)
    deployment.cli("task", "run", task_id, "--detach")
    pool = pools(deployment, "--processes", "2", "--concurrency", "1")
    wait_for(
        lambda: ledger_lines(ledger) >= 3 or pool.process.poll() is not None, "the run to start"
    )
    children = pool.children()
    assert sorted(children) == ["pool-1", "pool-2"]
    assert pool.stop() == 0
    # Waited for and reaped: not even a zombie is left.
    assert [pid for pid in children.values() if Path(f"/proc/{pid}").exists()] == []
    assert deployment.show(task_id)["status"] == "IN_PROGRESS"
    assert heartbeats(deployment) == [("pool-1", "stopped"), ("pool-2", "stopped")]
    assert pool.worker_lines() == started_lines(concurrency=1)

    again = pools(deployment, "--processes", "2", "--concurrency", "1")
    wait_until_completed(deployment, task_id)
    assert again.stop() == 0
    # A call parked when its worker stopped was declared and never answered: lost.
    assert_exactly_once(deployment, task_id, ledger, kills=1)


def test_a_killed_child_starts_again_under_its_id_and_resumes_its_run(
    deployment: Deployment, pools: Callable[..., Pool]
) -> None:
    gates = [deployment.tmp_path / "gate-0", deployment.tmp_path / "gate-1"]
    tasks = [deployment.new_task(f"gated-{i}", gate=gate) for i, gate in enumerate(gates)]
    for task_id, _ledger in tasks:
        deployment.cli("task", "run", task_id, "--detach")
    # No adoption within the test: only the restarted process may resume the run.
    options = ("--processes", "2", "--concurrency", "1", "--heartbeat-timeout", "600")
    pool = pools(deployment, *options)
    wait_for(
        lambda: all(waiting(gate).exists() for gate in gates) or pool.process.poll() is not None,
        "both runs to wait at their gates",
    )
    [victim] = executors(deployment, tasks[0][0])
    [survivor] = executors(deployment, tasks[1][0])
    assert victim is not None
    assert survivor is not None
    before = pool.children()
    waiting(gates[0]).unlink()
    os.kill(before[victim], signal.SIGKILL)  # mid-call: the model has not answered yet

    # The run is put back on the queue; the survivor is busy with the other run (one at a
    # time), so the restarted process takes it, and its model call waits at the gate again.
    wait_for(lambda: waiting(gates[0]).exists(), "the run to resume")
    after = pool.children()
    assert sorted(after) == ["pool-1", "pool-2"]
    assert after[victim] != before[victim]
    assert after[survivor] == before[survivor]
    assert executors(deployment, tasks[0][0]) == [victim]
    for gate in gates:
        gate.touch()
    for (task_id, ledger), kills in zip(tasks, (1, 0), strict=True):
        wait_until_completed(deployment, task_id)
        # The killed call was sent and never answered: lost, and sent again.
        assert_exactly_once(deployment, task_id, ledger, kills=kills)
    assert pool.stop() == 0
    assert pool.worker_lines() == sorted(
        [
            *started_lines(concurrency=1),
            f"worker {victim} was killed by SIGKILL; starting it again",
            f"worker {victim}: taking runs from queue taskline-runs (1 at a time);"
            " Ctrl-C or SIGTERM to stop",
        ]
    )
