"""A taskline home driven through the real `taskline` script, with a run that waits at a
gate so a test can break the database at a known point of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from taskline import Taskline

SCRIPT = Path(sys.executable).parent / "taskline"
# Only a ceiling: on a machine loaded by other test runs, starting DBOS alone has taken
# over a minute.
WAIT_SECONDS = 300.0
# Conditions read files, the database or a server: looking twenty times a second leaves
# the CPU to the processes under test on a loaded machine.
POLL_SECONDS = 0.05


def wait_for(
    condition: Callable[[], bool], what: str, timeout_seconds: float = WAIT_SECONDS
) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout_seconds`."""
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(POLL_SECONDS)


@contextmanager
def mounted_tmpfs(where: Path, size: str = "32m") -> Iterator[Path]:
    """A small tmpfs of its own at `where`, unmounted at the end whatever happens."""
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        reason = f"cannot mount a tmpfs: {done.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def remount(where: Path, mode: str) -> None:
    """Make the filesystem at `where` read-only (`ro`) or writable again (`rw`)."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(where)], check=True)


def fill(directory: Path) -> Path:
    """Write a file in `directory` until its filesystem is full; returns the file."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with pytest.raises(OSError, match="No space left on device"):  # noqa: PT012
            while True:
                os.write(fd, b"\0" * 65536)
    finally:
        os.close(fd)
    return filler


class Deployment:
    """One taskline home and database; runs go through the CLI, durable as by default."""

    def __init__(self, home: Path, gates: Path, database_url: str | None = None) -> None:
        self.env = {**os.environ, "TASKLINE_HOME": str(home), "TASKLINE_DURABLE": "1"}
        if database_url is not None:
            self.env["TASKLINE_DATABASE_URL"] = database_url
        self.gates = gates
        self.gate = gates / "gate"
        self.processes: list[subprocess.Popen[str]] = []

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SCRIPT, *args], env=self.env, capture_output=True, text=True, check=False
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [SCRIPT, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        """Kill what is still running (a failed test) and wait for it."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.communicate()

    def library(self) -> Taskline:
        return Taskline.open(env=self.env, durable=False)

    def new_task(self) -> str:
        """A task whose agent writes a file, waits at the gate for its second answer, then
        submits."""
        responses: list[dict[str, Any]] = [
            _answer("write_file", {"path": "one.txt", "content": "1\n"}),
            {
                **_answer("write_file", {"path": "two.txt", "content": "2\n"}),
                "wait_for_file": str(self.gate),
            },  # fmt: skip
            _answer("submit_work", {"summary": "both written"}),
        ]
        script = self.gates / "script.json"
        script.write_text(json.dumps({"responses": responses, "by_turn": True}))
        with self.library() as tl:
            tl.add_agent("coder", model=f"scripted:{script}")
            task = tl.create_task("write two files", max_turns=10)
            tl.assign(task.id, "coder")
        return task.id

    def run_until_gate(self, task_id: str) -> subprocess.Popen[str]:
        """`taskline task run` of the task, stopped at the gate (its second model call)."""
        process = self.start("task", "run", task_id)
        waiting = self.gate.with_name("gate.waiting")
        wait_for(
            lambda: waiting.exists() or process.poll() is not None, "the run to reach the gate"
        )
        assert process.poll() is None, process.communicate()
        return process

    def finish(self, process: subprocess.Popen[str]) -> tuple[int, str]:
        """Open the gate and wait for the run's process: its exit code and stderr."""
        self.gate.touch()
        _out, err = process.communicate(timeout=WAIT_SECONDS)
        return process.returncode, err


def _answer(tool: str, arguments: dict[str, str]) -> dict[str, Any]:
    return {
        "tool_calls": [{"name": tool, "arguments": arguments}],
        "usage": {"input_tokens": 100, "output_tokens": 10},
        "cost_usd": "0.001",
    }


def last_line(stderr: str) -> str:
    """The error line a failed command ends with; no traceback came before it."""
    assert "Traceback" not in stderr, stderr
    return stderr.strip().splitlines()[-1]
