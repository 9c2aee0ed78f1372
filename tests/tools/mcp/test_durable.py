"""MCP calls are durable: a run killed in the middle of them resumes without repeating a
finished call (its row in the store is its checkpoint), on SQLite and PostgreSQL.

The real `taskline` script runs the task in subprocesses and is killed with SIGKILL at
known points. The test server's `record(n)` tool writes `started n` to a ledger in the
workspace, waits at gate n (a file the test creates) and writes `done n`: a call killed
at its gate never writes `done`, a call repeated would write `started n` once more.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from taskline import Status, Taskline
from tests.conftest import BACKENDS, new_database_url
from tests.tools.mcp.conftest import assert_no_processes, server_command

SCRIPT = Path(sys.executable).parent / "taskline"
# Only a ceiling: on a loaded machine starting DBOS alone has taken over a minute.
WAIT_SECONDS = 300.0
CALLS = 3


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


class Deployment:
    """A taskline home and database with an MCP server declared, driven through the CLI."""

    def __init__(self, tmp_path: Path, database_url: str, tag: str) -> None:
        self.tmp_path = tmp_path
        self.workspace = tmp_path / "workspace"
        (self.workspace / "gates").mkdir(parents=True)
        self.model_gate = tmp_path / "model-gate"
        config = tmp_path / "taskline.toml"
        command = ", ".join(json.dumps(part) for part in server_command(tag))
        config.write_text(f"[mcp.counter]\ncommand = [{command}]\n")
        self.env = {
            **os.environ,
            "TASKLINE_HOME": str(tmp_path / "home"),
            "TASKLINE_DATABASE_URL": database_url,
            "TASKLINE_DURABLE": "1",
            "TASKLINE_CONFIG": str(config),
        }
        self.billed = tmp_path / "billed.ledger"
        self.billed.touch()

    def library(self) -> Taskline:
        return Taskline.open(env=self.env, durable=False)

    def new_task(self) -> str:
        """A task whose scripted agent calls record(1..3), then submits; its second answer
        waits at the model gate."""
        responses: list[dict[str, Any]] = [
            answer("counter__record", {"n": n}) for n in range(1, CALLS + 1)
        ]
        responses[1]["wait_for_file"] = str(self.model_gate)
        responses.append(answer("submit_work", {"summary": "recorded all"}))
        script = self.tmp_path / "agent.json"
        script.write_text(
            json.dumps({"responses": responses, "by_turn": True, "ledger": str(self.billed)})
        )
        with self.library() as tl:
            tl.add_agent("recorder", model=f"scripted:{script}", mcp=["counter"])
            task = tl.create_task("Record three calls", workspace=self.workspace, max_turns=10)
            tl.assign(task.id, "recorder")
        return task.id

    def start_run(self, task_id: str) -> subprocess.Popen[bytes]:
        with (self.tmp_path / "processes.log").open("ab") as log:
            return subprocess.Popen(
                [SCRIPT, "task", "run", task_id], env=self.env, stdout=log, stderr=log
            )

    def ledger(self) -> list[str]:
        path = self.workspace / "ledger.txt"
        return path.read_text().splitlines() if path.exists() else []

    def open_gate(self, n: int) -> None:
        (self.workspace / "gates" / str(n)).touch()


def answer(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "tool_calls": [{"name": tool, "arguments": arguments}],
        "usage": {"input_tokens": 100, "output_tokens": 10},
        "cost_usd": "0.001",
    }


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_run_killed_in_mcp_calls_resumes_without_repeating_a_finished_one(
    backend: str, tmp_path: Path, tag: str, request: pytest.FixtureRequest
) -> None:
    deployment = Deployment(tmp_path, new_database_url(backend, tmp_path, request), tag)
    task_id = deployment.new_task()

    # Killed inside call 1: it has not finished, so the resumed run makes it again.
    run = deployment.start_run(task_id)
    wait_for(lambda: deployment.ledger() == ["started 1"], "call 1")
    kill(run)
    # Killed after call 1 finished, while the model is asked for its next step.
    run = deployment.start_run(task_id)
    wait_for(lambda: deployment.ledger() == ["started 1"] * 2, "call 1 again")
    deployment.open_gate(1)
    waiting = deployment.model_gate.with_name(deployment.model_gate.name + ".waiting")
    wait_for(waiting.exists, "the second model call")
    kill(run)
    # Killed inside call 3, after call 2 finished.
    deployment.model_gate.touch()
    run = deployment.start_run(task_id)
    wait_for(lambda: deployment.ledger()[-1:] == ["started 2"], "call 2")
    deployment.open_gate(2)
    wait_for(lambda: deployment.ledger()[-1:] == ["started 3"], "call 3")
    kill(run)
    # The last process finishes the run.
    run = deployment.start_run(task_id)
    wait_for(lambda: deployment.ledger().count("started 3") == 2, "call 3 again")
    deployment.open_gate(3)
    assert run.wait(timeout=WAIT_SECONDS) == 0

    assert deployment.ledger() == [
        "started 1", "started 1", "done 1", "started 2", "done 2", "started 3", "started 3",
        "done 3",
    ]  # fmt: skip
    with deployment.library() as tl:
        assert tl.get_task(task_id).status is Status.COMPLETED
        detail = tl.detail(task_id)
        [only] = detail.runs
        assert [(c.turn, c.name, c.arguments, c.output, c.is_error) for c in detail.tool_calls[only.id]] == [
            (1, "counter__record", {"n": 1}, "recorded 1", False),
            (2, "counter__record", {"n": 2}, "recorded 2", False),
            (3, "counter__record", {"n": 3}, "recorded 3", False),
            (4, "submit_work", {"summary": "recorded all"}, "work submitted for review", False),
        ]  # fmt: skip
        records = tl.cost_records(task_id)
        assert [r.turn for r in records if r.state == "answered"] == [1, 2, 3, 4]
        # The second model call was sent when its process was killed: maybe billed, lost.
        assert [r.turn for r in records if r.state == "lost"] == [2]
        assert detail.metrics is not None
        assert detail.metrics.tool_calls == 4
    assert len(deployment.billed.read_text().splitlines()) == 4
    assert_no_processes(tag)
