"""What an MCP server costs a run: starting it (sandboxed or not) and each call.

    .venv/bin/python bench/bench_mcp.py [--starts 10] [--calls 200]

`mcp-server-git` on a fresh repository. Start: from nothing to the tool list, then
stopped, as a run does before its first turn and after its last. Call: `git_status`
through taskline's connection and tool (timeout, result to text, output cap) beside
the same call on the SDK's own client, to show what taskline adds to a call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mcp import Client, StdioServerParameters

from taskline.tools import ToolContext, Workspace
from taskline.tools.mcp.config import McpServerConfig
from taskline.tools.mcp.connection import McpConnection
from taskline.tools.mcp.tool import McpTool
from taskline.tools.sandbox import Sandbox, SandboxSettings

GIT_SERVER = str(Path(sys.executable).parent / "mcp-server-git")
CONFIG = McpServerConfig(command=(GIT_SERVER, "--repository", "{workspace}"))


async def start_seconds(repo: Path, sandbox: Sandbox, starts: int) -> list[float]:
    timings = []
    for _ in range(starts):
        started = time.perf_counter()
        connection = McpConnection("git", CONFIG, workspace=repo, sandbox=sandbox)
        await connection.start()
        await connection.close()
        timings.append(time.perf_counter() - started)
    return timings


async def taskline_call_ms(repo: Path, calls: int) -> list[float]:
    connection = McpConnection("git", CONFIG, workspace=repo, sandbox=Sandbox())
    [listed] = [t for t in await connection.start() if t.name == "git_status"]
    tool = McpTool.offered("git__git_status", listed, connection)
    context = ToolContext(workspace=Workspace(repo))
    timings = []
    try:
        for _ in range(calls):
            started = time.perf_counter()
            result = await tool.run({"repo_path": "."}, context)
            timings.append((time.perf_counter() - started) * 1000)
            assert not result.is_error, result.output
    finally:
        await connection.close()
    return timings


async def sdk_call_ms(repo: Path, calls: int) -> list[float]:
    parameters = StdioServerParameters(
        command=GIT_SERVER, args=["--repository", str(repo)], cwd=str(repo)
    )
    timings = []
    async with Client(parameters) as client:
        for _ in range(calls):
            started = time.perf_counter()
            result = await client.call_tool("git_status", {"repo_path": "."})
            timings.append((time.perf_counter() - started) * 1000)
            assert not result.is_error
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        for label, sandbox in (
            ("sandboxed", Sandbox()),
            ("unsandboxed", Sandbox(settings=SandboxSettings(mode="none"))),
        ):
            timings = asyncio.run(start_seconds(repo, sandbox, args.starts))
            print(
                f"start + list + stop, {label:11}  median {statistics.median(timings):.2f} s"
                f"  (min {min(timings):.2f} s, {args.starts} starts)"
            )
        for label, measure in (("taskline", taskline_call_ms), ("sdk client", sdk_call_ms)):
            timings = asyncio.run(measure(repo, args.calls))
            print(
                f"git_status call, {label:10}        median {statistics.median(timings):.2f} ms"
                f"  (p95 {sorted(timings)[int(len(timings) * 0.95)]:.2f} ms, {args.calls} calls)"
            )


if __name__ == "__main__":
    main()
