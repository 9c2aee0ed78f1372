"""MCP servers in tests: the real sandbox, a test server's command line, and its processes."""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from pathlib import Path

import pytest

from taskline.tools.sandbox import sandbox_problem

SERVERS = Path(__file__).parent / "servers"
STDIO_SERVER = SERVERS / "stdio_server.py"


@pytest.fixture(autouse=True)
def _real_sandbox() -> None:
    problem = sandbox_problem(shutil.which("bwrap"))
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"the MCP tests must run in CI, but {problem}")
    pytest.skip(f"no sandbox here: {problem}")


@pytest.fixture
def tag() -> str:
    """A mark put on the command line of a test's servers, to find their processes."""
    return f"mcp-test-{uuid.uuid4().hex}"


def server_command(tag: str, *options: str) -> list[str]:
    """The command line of the test server (see servers/stdio_server.py)."""
    return [sys.executable, str(STDIO_SERVER), "--tag", tag, *options]


def processes_tagged(tag: str) -> list[int]:
    """Pids of the live processes whose command line carries `tag`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone while we looked
            continue
        if tag.encode() in cmdline and state not in {"Z", "X"}:
            found.append(int(entry.name))
    return found


def assert_no_processes(tag: str, timeout_seconds: float = 30.0) -> None:
    """Every process of the servers marked `tag` is gone (the kernel may take a moment to
    reap a sandbox whose first process died)."""
    deadline = time.monotonic() + timeout_seconds
    while processes_tagged(tag):
        assert time.monotonic() < deadline, f"still running: {processes_tagged(tag)}"
        time.sleep(0.05)
