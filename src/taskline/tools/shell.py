"""The run_command tool: a shell command in the workspace's sandbox, with a time limit.

The command runs under bubblewrap (see `taskline.tools.sandbox`) in a session
of its own, so that bwrap and the sandbox's PID 1 form one process group.
That group is killed when the time limit passes, when the caller is cancelled
(the run hit its wall-clock limit), and when the command returns; the
sandbox's PID 1 dying takes every process inside with it, including any that
called setsid, so nothing the command started outlives the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, BinaryIO

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from taskline.tools.base import Arguments, BuiltinTool, ToolContext
from taskline.tools.output import OutputCap
from taskline.tools.pids_cgroup import PidsCgroup
from taskline.tools.processes import ProcessWatch
from taskline.tools.result import ToolFailure
from taskline.tools.sandbox import Sandbox, SandboxSettings, SandboxUnavailableError

MAX_TIMEOUT_SECONDS = 3600.0
# After the group is killed its pipe closes at once; a process that left the group
# (setsid, when unsandboxed) may still hold it, and is not waited for longer than this.
DRAIN_TIMEOUT_SECONDS = 2.0


# Optional in Python, a plain number in the schema: the model leaves it out rather than null.
TimeoutSeconds = Annotated[float, Field(gt=0, le=MAX_TIMEOUT_SECONDS)] | SkipJsonSchema[None]


class RunCommandArguments(Arguments):
    command: str = Field(min_length=1)
    """Shell command, run by bash in the workspace directory."""
    timeout_seconds: TimeoutSeconds = None
    """Seconds before the command and all it started are killed; left out, the default applies."""


def command_line(
    sandbox: Sandbox, workspace: Path, command: str
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that run `command` in `workspace` as `sandbox` says."""
    if sandbox.settings.mode == "none":
        return [shutil.which("bash") or "/bin/sh", "-c", command], sandbox.environment(os.environ)
    try:
        argv = sandbox.command_line(workspace, command)
    except SandboxUnavailableError as exc:
        raise ToolFailure(str(exc)) from exc
    # bwrap's first process is PID 1 in the sandbox, and /proc/1/environ shows what bwrap
    # was started with: nothing. The command's variables are set by --setenv.
    return argv, {}


@dataclass(frozen=True)
class CommandOutcome:
    """How one command ended, for callers that need more than the model's text."""

    output: str
    """What it printed (stdout and stderr together), its middle cut out past the byte limit."""
    exit_code: int
    """Its exit code; minus the signal's number when a signal killed it."""
    timed_out: bool
    """Whether it was killed for running past its time limit."""
    too_many_processes: bool
    """Whether it was killed for starting more processes than the sandbox allows."""
    duration_seconds: float
    """Wall-clock time from start to its end (or its killing)."""


async def run_command(args: RunCommandArguments, context: ToolContext) -> str:
    timeout_seconds = args.timeout_seconds or context.command_timeout_seconds
    outcome = await execute_command(
        args.command, context, timeout_seconds=timeout_seconds, max_output_bytes=None
    )
    return _report(outcome, timeout_seconds, context.sandbox)


async def execute_command(
    command: str,
    context: ToolContext,
    *,
    timeout_seconds: float,
    max_output_bytes: int | None,
) -> CommandOutcome:
    """Run `command` in the workspace's sandbox; at most `max_output_bytes` of its output are
    kept (the context's limit when None)."""
    argv, env = command_line(context.sandbox, context.workspace.root, command)
    cgroup = None
    if context.sandbox.settings.mode == "bubblewrap":
        cgroup = PidsCgroup.create(context.sandbox.settings.max_processes)
    try:
        return await _execute(
            cgroup.enter(argv) if cgroup else argv,
            env,
            context,
            timeout_seconds,
            OutputCap(max_output_bytes or context.max_output_bytes),
            cgroup,
        )
    finally:
        if cgroup is not None:
            await cgroup.remove()


async def _execute(
    argv: list[str],
    env: dict[str, str],
    context: ToolContext,
    timeout_seconds: float,
    output: OutputCap,
    cgroup: PidsCgroup | None,
) -> CommandOutcome:
    started = time.perf_counter()
    # Our own pipe rather than asyncio's: asyncio's wait() also waits for its pipes to close,
    # which a background process keeps open long after the command itself has ended.
    read_end, write_end = os.pipe()
    with open(read_end, "rb", buffering=0) as pipe:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=context.workspace.root,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=write_end,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            os.close(write_end)  # the command has its own copy; ours would keep the pipe open
        watch = ProcessWatch(process.pid, context.sandbox, cgroup)
        try:
            timed_out = await _wait_and_collect(process, pipe, output, timeout_seconds, watch)
        except BaseException:
            # Cancelled (the run hit its time limit) or broken: nothing the command started
            # may outlive the call.
            _kill_group(process.pid)
            # Dead at once, but not yet reaped: wait, so the loop does not close on a child
            # it still thinks is running.
            await process.wait()
            raise
    returncode = await process.wait()
    # bwrap reports a command killed by signal N as exit code 128 + N, as shells do.
    if context.sandbox.settings.mode == "bubblewrap" and 128 < returncode <= 128 + 64:
        returncode = 128 - returncode
    return CommandOutcome(
        output=output.text(),
        exit_code=returncode,
        timed_out=timed_out,
        too_many_processes=watch.exceeded,
        duration_seconds=round(time.perf_counter() - started, 3),
    )


async def _wait_and_collect(
    process: asyncio.subprocess.Process,
    pipe: BinaryIO,
    output: OutputCap,
    timeout_seconds: float,
    watch: ProcessWatch,
) -> bool:
    """Collect the output until the command ends or times out; True if it timed out."""
    loop = asyncio.get_running_loop()
    closed: asyncio.Future[None] = loop.create_future()
    transport, _ = await loop.connect_read_pipe(lambda: _Collector(output, closed), pipe)
    watching = asyncio.create_task(watch.run(lambda: _kill_group(process.pid)))
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
        watching.cancel()
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


def _report(outcome: CommandOutcome, timeout_seconds: float, sandbox: Sandbox) -> str:
    """The command's output with how it ended, as the model reads it; a failure raises."""
    text = outcome.output
    if text and not text.endswith("\n"):
        text += "\n"
    ending = describe_ending(outcome, timeout_seconds, sandbox.settings)
    if outcome.timed_out or outcome.too_many_processes or outcome.exit_code != 0:
        raise ToolFailure(f"{text}[{ending}]")
    return f"{text}[{ending}]"


def describe_ending(
    outcome: CommandOutcome, timeout_seconds: float, settings: SandboxSettings
) -> str:
    """How a command ended, in words: `exit code 1`, `timed out after 5 seconds; …`."""
    if outcome.timed_out:
        return (
            f"timed out after {timeout_seconds:g} seconds;"
            " the command and its child processes were killed"
        )
    if outcome.too_many_processes:
        return f"killed: more than {settings.max_processes} processes at once"
    if outcome.exit_code < 0:
        number = -outcome.exit_code
        return f"killed by signal {_signal_name(number)}{_limit(number, settings)}"
    return f"exit code {outcome.exit_code}"


def _limit(number: int, settings: SandboxSettings) -> str:
    """Which limit a signal means, when it is a limit's signal."""
    if number == signal.SIGXFSZ:
        return f": a file reached the limit of {settings.file_size_bytes} bytes"
    if number == signal.SIGXCPU:
        return f": a process reached the limit of {settings.cpu_seconds} CPU seconds"
    return ""


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
        " given. It runs in a sandbox: only the workspace is writable, /tmp is private,"
        " and the network and secrets are out of reach unless the configuration allows them."
    ),
    arguments=RunCommandArguments,
    execute=run_command,
)
