"""The run_command tool: a shell command in the workspace, with a time limit and no secrets.

The command runs in a session of its own, so that it and everything it starts
form one process group. That group is killed when the time limit passes, when
the caller is cancelled (the run hit its wall-clock limit), and when the
command returns: a background process left behind would outlive the call and
keep its output pipe open.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from collections.abc import Mapping
from typing import Annotated, BinaryIO

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from taskline.tools.base import Arguments, BuiltinTool, ToolContext, ToolFailure
from taskline.tools.output import OutputCap

MAX_TIMEOUT_SECONDS = 3600.0
# After the group is killed its pipe closes at once; a process that left the group
# (setsid) may still hold it, and is not waited for longer than this.
DRAIN_TIMEOUT_SECONDS = 2.0

# Variables whose names contain one of these words or start with one of these prefixes
# are not passed to commands: the agent's shell has no business with the run's secrets.
SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "DSN")
SECRET_PREFIXES = (
    "AWS_",
    "AZURE_",
    "GOOGLE_",
    "GCP_",
    "OPENAI_",
    "ANTHROPIC_",
    "OPENROUTER_",
    "GEMINI_",
    "MISTRAL_",
    "GROQ_",
    "HF_",
    "GITHUB_",
    "GH_",
    "TASKLINE_",
    "DATABASE_URL",
    "PG",
)
# Nothing reads the terminal, so a pager would wait forever.
QUIET_ENVIRONMENT = {"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0"}


# Optional in Python, a plain number in the schema: the model leaves it out rather than null.
TimeoutSeconds = Annotated[float, Field(gt=0, le=MAX_TIMEOUT_SECONDS)] | SkipJsonSchema[None]


class RunCommandArguments(Arguments):
    command: str = Field(min_length=1)
    """Shell command, run by bash in the workspace directory."""
    timeout_seconds: TimeoutSeconds = None
    """Seconds before the command and all it started are killed; left out, the default applies."""


def command_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` without the variables that may hold secrets (API keys, tokens, database URLs)."""
    kept = {name: value for name, value in environ.items() if not _is_secret(name)}
    return kept | QUIET_ENVIRONMENT


def _is_secret(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS) or upper.startswith(SECRET_PREFIXES)


async def run_command(args: RunCommandArguments, context: ToolContext) -> str:
    timeout_seconds = args.timeout_seconds or context.command_timeout_seconds
    output = OutputCap(context.max_output_bytes)
    # Our own pipe rather than asyncio's: asyncio's wait() also waits for its pipes to close,
    # which a background process keeps open long after the command itself has ended.
    read_end, write_end = os.pipe()
    with open(read_end, "rb", buffering=0) as pipe:
        try:
            process = await asyncio.create_subprocess_exec(
                shutil.which("bash") or "/bin/sh",
                "-c",
                args.command,
                cwd=context.workspace.root,
                env=command_environment(os.environ),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=write_end,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            os.close(write_end)  # the command has its own copy; ours would keep the pipe open
        try:
            timed_out = await _wait_and_collect(process, pipe, output, timeout_seconds)
        except BaseException:
            # Cancelled (the run hit its time limit) or broken: nothing the command started
            # may outlive the call.
            _kill_group(process.pid)
            # Dead at once, but not yet reaped: wait, so the loop does not close on a child
            # it still thinks is running.
            await process.wait()
            raise
    returncode = await process.wait()
    return _report(output.text(), returncode, timed_out, timeout_seconds)


async def _wait_and_collect(
    process: asyncio.subprocess.Process, pipe: BinaryIO, output: OutputCap, timeout_seconds: float
) -> bool:
    """Collect the output until the command ends or times out; True if it timed out."""
    loop = asyncio.get_running_loop()
    closed: asyncio.Future[None] = loop.create_future()
    transport, _ = await loop.connect_read_pipe(lambda: _Collector(output, closed), pipe)
    try:
        timed_out = False
        try:
            async with asyncio.timeout(timeout_seconds):
                await process.wait()
        except TimeoutError:
            timed_out = True
        _kill_group(process.pid)
        # What the group wrote before it died is still in the pipe: read it to the end.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(closed, DRAIN_TIMEOUT_SECONDS)
        return timed_out
    finally:
        transport.close()


class _Collector(asyncio.Protocol):
    """Feeds what arrives on the pipe into `output`; resolves `closed` when the pipe closes."""

    def __init__(self, output: OutputCap, closed: asyncio.Future[None]) -> None:
        self._output = output
        self._closed = closed

    def data_received(self, data: bytes) -> None:
        self._output.add(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closed.done():
            self._closed.set_result(None)


def _kill_group(pgid: int) -> None:
    # The group is gone already when the command ended without leaving anything behind.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _report(text: str, returncode: int, timed_out: bool, timeout_seconds: float) -> str:
    if text and not text.endswith("\n"):
        text += "\n"
    if timed_out:
        raise ToolFailure(
            f"{text}[timed out after {timeout_seconds:g} seconds;"
            " the command and its child processes were killed]"
        )
    if returncode < 0:
        raise ToolFailure(f"{text}[killed by signal {_signal_name(-returncode)}]")
    if returncode != 0:
        raise ToolFailure(f"{text}[exit code {returncode}]")
    return f"{text}[exit code 0]"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal has no name of its own
        return str(number)


RUN_COMMAND = BuiltinTool(
    name="run_command",
    description=(
        "Run a shell command with bash in the workspace directory and return its output"
        " (stdout and stderr together) and exit code. The command is killed after"
        " timeout_seconds; background processes are stopped when it returns. No input is"
        " given; secrets such as API keys are not in its environment."
    ),
    arguments=RunCommandArguments,
    execute=run_command,
)
