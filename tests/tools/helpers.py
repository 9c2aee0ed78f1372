"""Helpers for the tool tests: run a tool to its result, and tell whether a process lives."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from taskline.protocols import Tool
from taskline.tools import ToolContext, ToolResult


def call(tool: Tool, arguments: Any, context: ToolContext) -> ToolResult:
    """`tool` run once with `arguments`, on a fresh event loop."""
    return asyncio.run(tool.run(arguments, context))


def is_running(pid: int) -> bool:
    """Whether process `pid` exists and has not exited; an unreaped zombie has exited."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    state = status.rsplit(")", 1)[1].split()[0]
    return state not in {"Z", "X"}


def wait_until_gone(pid: int, timeout_seconds: float = 5.0) -> bool:
    """True as soon as `pid` is no longer running; False if it still runs after the timeout."""
    deadline = time.monotonic() + timeout_seconds
    while is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


async def wait_for_file(path: Path, timeout_seconds: float = 60.0) -> str:
    """The content of `path` once it exists and holds a whole line."""
    deadline = time.monotonic() + timeout_seconds
    while not (path.exists() and path.read_text().endswith("\n")):
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} was not written within {timeout_seconds} seconds")
        await asyncio.sleep(0.01)
    return path.read_text()


def processes_running(command_line: str) -> int:
    """How many live processes on the machine run exactly `command_line`."""
    wanted = command_line.encode().replace(b" ", b"\0") + b"\0"
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "cmdline").read_bytes() == wanted and is_running(int(entry.name)):
                count += 1
        except OSError:  # gone while we looked
            continue
    return count


def wait_until_no_process(command_line: str, timeout_seconds: float = 60.0) -> bool:
    """True as soon as no process runs `command_line`; False if one still does after the timeout."""
    deadline = time.monotonic() + timeout_seconds
    while processes_running(command_line):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
