"""An MCP server for the tests, run as `python stdio_server.py [options]` over stdio.

Its tools do what a test needs a server to do: answer, show its environment,
read a file, exit in the middle of a call, never answer, and record calls in a
ledger behind a gate (for the kill and resume tests). `--tag` only marks its
command line, so a test can find its processes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

CRASHED = Path("crashed-once")
GATE_POLL_SECONDS = 0.01

server = MCPServer("test-server")


@server.tool(description="Answer with the text given.", structured_output=False)
def echo(text: str) -> str:
    return f"echo: {text}"


@server.tool(description="The server's environment variables, as JSON.", structured_output=False)
def environment() -> str:
    return json.dumps(dict(sorted(os.environ.items())))


@server.tool(description="The text of a file.", structured_output=False)
def read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise ToolError(f"{exc.strerror}: {path}") from None


@server.tool(description="Exit the server in the middle of the call.", structured_output=False)
def crash() -> str:
    CRASHED.touch()
    print("crashing on purpose", file=sys.stderr, flush=True)
    os._exit(3)


@server.tool(
    description="Never answer (after leaving the file `hanging`).", structured_output=False
)
async def hang() -> str:
    Path("hanging").touch()
    await anyio.sleep_forever()
    return "unreachable"


@server.tool(description="Record call n in the ledger once gate n opens.", structured_output=False)
def record(n: int) -> str:
    ledger = Path("ledger.txt")
    with ledger.open("a") as out:
        out.write(f"started {n}\n")
    gate = Path("gates") / str(n)
    while not gate.exists():
        time.sleep(GATE_POLL_SECONDS)
    with ledger.open("a") as out:
        out.write(f"done {n}\n")
    return f"recorded {n}"


@server.tool(name="files.read", description="A tool whose name has a dot.")
def dotted() -> str:
    return "dotted"


@server.tool(name="x" * 70, description="A tool whose name is 70 characters long.")
def long_named() -> str:
    return "long"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tag", default="")
    parser.add_argument("--once", action="store_true", help="refuse to start after a crash")
    parser.add_argument("--exit-at-start", action="store_true")
    parser.add_argument(
        "--slow-start", action="store_true", help="leave the file `starting`; never serve"
    )
    options = parser.parse_args()
    if options.exit_at_start or (options.once and CRASHED.exists()):
        print("test-server: refusing to start", file=sys.stderr, flush=True)
        sys.exit(1)
    if options.slow_start:
        Path("starting").touch()
        time.sleep(3600)
    server.run()


if __name__ == "__main__":
    main()
