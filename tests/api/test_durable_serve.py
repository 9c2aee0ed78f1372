"""Runs started through a durable `taskline serve` are DBOS workflows: a server killed mid-run
resumes the run when it starts again, with nothing lost or paid twice.

DBOS is one per process, so each server here is the real `taskline serve` in a subprocess,
on SQLite and on PostgreSQL, with `TASKLINE_DURABLE=1`. The agent is the scripted model of
tests/test_durable.py: it answers by turn, waits a little per answer, and writes each answer
it serves to a ledger, what the provider "billed".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskline import Status
from taskline.store import SqlStore
from taskline.testing.ports import free_port
from tests.api.helpers import AUTH, TOKEN
from tests.conftest import BACKENDS, new_database_url
from tests.test_durable import COST, DB_POLL_SECONDS, TURNS, answer, wait_for

SCRIPT = Path(sys.executable).parent / "taskline"
CALLS = TURNS + 1  # the write_file turns, then submit_work


class Site:
    """One taskline home and database, served by `taskline serve` processes in turn."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.tmp_path = tmp_path
        self.home = tmp_path / "home"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
        self.env.update(
            TASKLINE_HOME=str(self.home),
            TASKLINE_DATABASE_URL=database_url,
            TASKLINE_DURABLE="1",
            TASKLINE_API_TOKEN=TOKEN,
        )

    @contextmanager
    def server(self) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client]]:
        """A server on a free port and a client sending the token; SIGINT at the end."""
        port = free_port()
        with (self.tmp_path / "servers.log").open("ab") as log:
            process = subprocess.Popen(
                [SCRIPT, "serve", "--port", str(port)],
                cwd=self.tmp_path,
                env=self.env,
                stdout=log,
                stderr=log,
            )
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=AUTH, timeout=30)
        try:
            wait_for(lambda: _answers(client) or process.poll() is not None)
            assert process.poll() is None, self.log()
            yield process, client
        finally:
            client.close()
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=120)

    def status(self, task_id: str) -> Status:
        """The task's status read from the store, with no server running."""
        store = SqlStore.open(self.env["TASKLINE_DATABASE_URL"])
        try:
            return store.get_task(task_id).status
        finally:
            store.close()

    @property
    def gate(self) -> Path:
        return self.tmp_path / "gate"

    def wait_at_gate(self) -> None:
        wait_for(lambda: self.gate.with_name("gate.waiting").exists())

    def log(self) -> str:
        return (self.tmp_path / "servers.log").read_text(errors="replace")

    def agent_script(self, delay_seconds: float, gate_at: int | None = None) -> tuple[Path, Path]:
        """A scripted agent's answers, by turn; returns the script and its ledger.

        With `gate_at`, call number `gate_at` (from 0) waits for `self.gate` to exist,
        after saying so with `gate.waiting`: the run stops at a known call, however
        slow the machine.
        """
        ledger = self.tmp_path / "agent.ledger"
        ledger.touch()
        responses: list[dict[str, Any]] = [
            answer("write_file", {"path": f"f{i}.txt", "content": f"{i}\n"}, delay_seconds)
            for i in range(TURNS)
        ]
        responses.append(answer("submit_work", {"summary": "all written"}, delay_seconds))
        if gate_at is not None:
            responses[gate_at]["wait_for_file"] = str(self.gate)
        script = self.tmp_path / "agent.json"
        script.write_text(
            json.dumps({"responses": responses, "by_turn": True, "ledger": str(ledger)})
        )
        return script, ledger


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/health").status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Site:
    return Site(tmp_path, new_database_url(request.param, tmp_path, request))


def start_run(client: httpx.Client, script: Path) -> str:
    """Add the agent, create and assign a task over HTTP, and run it: answers 202."""
    agent = client.post("/api/agents", json={"name": "durable", "model": f"scripted:{script}"})
    assert agent.status_code == 201, agent.text
    created = client.post("/api/tasks", json={"title": "Write five files", "max_turns": 20})
    assert created.status_code == 201, created.text
    task_id: str = created.json()["id"]
    assigned = client.post(f"/api/tasks/{task_id}/assign", json={"agent": "durable"})
    assert assigned.status_code == 200, assigned.text
    started = client.post(f"/api/tasks/{task_id}/run")
    assert (started.status_code, started.json()["status"]) == (202, "IN_PROGRESS"), started.text
    return task_id


def completed(client: httpx.Client, task_id: str) -> bool:
    """Whether the task is COMPLETED with its metrics (stored just after the move)."""
    shown = client.get(f"/api/tasks/{task_id}").json()
    return bool(shown["status"] == "COMPLETED" and shown["metrics"] is not None)


def assert_exactly_once(
    client: httpx.Client,
    task_id: str,
    ledger: Path,
    home: Path,
    *,
    lost_turns: tuple[int, ...] = (),
) -> None:
    """COMPLETED in one run; one answered record per billed call, and a lost one for each
    call a stop interrupted (sent, maybe billed, sent again); contiguous turns; the cost,
    each lost call counted at the estimate its second sending lent it."""
    shown = client.get(f"/api/tasks/{task_id}").json()
    assert (shown["status"], shown["summary"], shown["failure"]) == (
        "COMPLETED", "all written", None
    )  # fmt: skip
    [run] = shown["runs"]
    assert (run["status"], run["trigger"]) == ("submitted", "first")
    assert [turn["number"] for turn in run["turns"]] == list(range(1, CALLS + 1))
    costs = client.get("/api/costs", params={"task": task_id}).json()
    answered = [r["turn"] for r in costs["records"] if r["state"] == "answered"]
    lost = [(r["turn"], r["price_source"]) for r in costs["records"] if r["state"] == "lost"]
    assert answered == list(range(1, CALLS + 1))
    assert lost == [(turn, "estimate") for turn in lost_turns]
    billed = ledger.read_text().splitlines()
    assert billed == [f"{n} {COST}" for n in range(CALLS)]
    calls = CALLS + len(lost_turns)
    assert (costs["totals"]["calls"], costs["totals"]["lost_calls"]) == (calls, len(lost_turns))
    assert Decimal(str(costs["totals"]["cost_usd"])) == COST * calls
    assert Decimal(str(shown["metrics"]["cost_per_task"])) == COST * calls
    assert shown["metrics"]["lost_calls"] == len(lost_turns)
    trail = [(t["from"], t["to"]) for t in shown["transitions"]]
    assert trail == [
        (None, "CREATED"),
        ("CREATED", "ASSIGNED"),
        ("ASSIGNED", "IN_PROGRESS"),
        ("IN_PROGRESS", "IN_REVIEW"),
        ("IN_REVIEW", "COMPLETED"),
    ]
    workspace = home / "workspaces" / task_id
    assert sorted(p.name for p in workspace.iterdir()) == [f"f{i}.txt" for i in range(TURNS)]


def test_a_run_started_over_http_completes(site: Site) -> None:
    script, ledger = site.agent_script(delay_seconds=0.05)
    with site.server() as (process, client):
        task_id = start_run(client, script)
        wait_for(lambda: completed(client, task_id), poll_seconds=DB_POLL_SECONDS)
        assert_exactly_once(client, task_id, ledger, site.home)
    assert process.returncode == 0, site.log()
    # The run was a DBOS workflow, kept in DBOS's system database beside the store.
    if site.env["TASKLINE_DATABASE_URL"].startswith("sqlite"):
        assert (site.home / "dbos.sqlite").is_file()


def test_a_killed_server_resumes_the_run_when_it_starts_again(site: Site) -> None:
    # Killed while the fourth call waits at the gate: three calls answered and recorded,
    # the fourth sent and never answered.
    script, ledger = site.agent_script(delay_seconds=0.0, gate_at=3)
    with site.server() as (killed, client):
        task_id = start_run(client, script)
        site.wait_at_gate()
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    paid_before = len(ledger.read_text().splitlines())
    assert (site.status(task_id), paid_before) == (Status.IN_PROGRESS, 3)
    site.gate.touch()

    with site.server() as (_restarted, client):
        # No second run request: the restarted server resumes the run by itself.
        wait_for(lambda: completed(client, task_id), poll_seconds=DB_POLL_SECONDS)
        assert_exactly_once(client, task_id, ledger, site.home, lost_turns=(4,))


def test_a_stopped_server_resumes_the_run_when_it_starts_again(site: Site) -> None:
    # Stopped while the third call waits at the gate: two calls answered and recorded,
    # the third sent and never answered.
    script, ledger = site.agent_script(delay_seconds=0.0, gate_at=2)
    with site.server() as (stopped, client):
        task_id = start_run(client, script)
        site.wait_at_gate()
        stopped.send_signal(signal.SIGINT)  # Ctrl-C: the run stays unfinished, resumable
        assert stopped.wait(timeout=120) == 0, site.log()
    paid_before = len(ledger.read_text().splitlines())
    assert (site.status(task_id), paid_before) == (Status.IN_PROGRESS, 2)
    site.gate.touch()

    with site.server() as (_restarted, client):
        # No second run request: the restarted server resumes the run by itself.
        wait_for(lambda: completed(client, task_id), poll_seconds=DB_POLL_SECONDS)
        assert_exactly_once(client, task_id, ledger, site.home, lost_turns=(3,))
