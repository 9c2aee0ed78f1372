"""run_command: output and exit code, time limit, cancellation, no secrets, no leftovers.

Commands run in the sandbox, in a PID namespace of their own: `$!` inside is not
a pid outside, so a child is found by a command line unique to the test.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import pytest

from taskline.llm.types import ToolCall
from taskline.tools import ToolContext, ToolResult, Workspace
from taskline.tools.registry import builtin_tools, run_tool_calls
from taskline.tools.sandbox import AgentAccess, Sandbox
from taskline.tools.shell import RUN_COMMAND
from tests.tools.helpers import call, processes_running, wait_for_file, wait_until_no_process

# Far short of the child's sleep: a command that took this long waited for its child.
NEVER_ENDS_SECONDS = 60


@pytest.fixture
def child_seconds() -> str:
    """A sleep length no other process on the machine uses: the child's mark."""
    return f"{uuid.uuid4().int % 10**9}.5"


def spawns_a_child(seconds: str) -> str:
    """Starts a child in the background, says so, then waits for it: a command that only
    ends when killed, and whose child must die with it."""
    return f"sleep {seconds} & echo started > child.pid; wait"


def run(command: str, context: ToolContext, timeout_seconds: float | None = None) -> ToolResult:
    arguments: dict[str, object] = {"command": command}
    if timeout_seconds is not None:
        arguments["timeout_seconds"] = timeout_seconds
    return call(RUN_COMMAND, arguments, context)


def outcome(result: ToolResult) -> tuple[str, bool]:
    return (result.output, result.is_error)


def test_output_and_exit_code(context: ToolContext) -> None:
    assert outcome(run("echo hello; echo oops >&2", context)) == (
        "hello\noops\n[exit code 0]",
        False,
    )


def test_output_without_a_final_newline(context: ToolContext) -> None:
    assert outcome(run("printf done", context)) == ("done\n[exit code 0]", False)


def test_no_output(context: ToolContext) -> None:
    assert outcome(run("true", context)) == ("[exit code 0]", False)


def test_a_failing_command_is_an_error_with_its_exit_code(context: ToolContext) -> None:
    assert outcome(run("echo no such thing >&2; exit 3", context)) == (
        "no such thing\n[exit code 3]",
        True,
    )


def test_a_command_killed_by_a_signal(context: ToolContext) -> None:
    assert outcome(run("kill -TERM $$", context)) == ("[killed by signal SIGTERM]", True)


def test_runs_in_the_workspace_with_no_input(context: ToolContext, workspace_dir: Path) -> None:
    assert outcome(run("pwd; cat; echo end", context)) == (
        f"{workspace_dir.resolve()}\nend\n[exit code 0]",
        False,
    )


def test_output_is_capped_keeping_its_beginning_and_end(workspace_dir: Path) -> None:
    context = ToolContext(workspace=Workspace(workspace_dir), max_output_bytes=20)

    # seq 1 30 prints 81 bytes: 9 of "N\n" and 21 of "NN\n".
    assert outcome(run("seq 1 30", context)) == (
        "1\n2\n3\n4\n5\n\n[... 61 bytes cut ...]\n\n28\n29\n30\n[exit code 0]",
        False,
    )


def test_a_flood_of_output_is_capped(workspace_dir: Path) -> None:
    context = ToolContext(workspace=Workspace(workspace_dir), max_output_bytes=8)

    result = run("head -c 2000000 /dev/zero | tr '\\0' x", context)

    assert outcome(result) == ("xxxx\n[... 1999992 bytes cut ...]\nxxxx\n[exit code 0]", False)


def test_the_timeout_kills_the_command_and_its_children(
    context: ToolContext, child_seconds: str
) -> None:
    started = time.monotonic()

    result = run(spawns_a_child(child_seconds), context, timeout_seconds=0.5)

    assert outcome(result) == (
        "[timed out after 0.5 seconds; the command and its child processes were killed]",
        True,
    )
    assert time.monotonic() - started < NEVER_ENDS_SECONDS
    assert wait_until_no_process(f"sleep {child_seconds}")


def test_output_before_the_timeout_is_kept(context: ToolContext) -> None:
    # Long enough for the sandbox to start and say so on a loaded machine.
    result = run("echo started; sleep 600", context, timeout_seconds=5)

    assert outcome(result) == (
        "started\n[timed out after 5 seconds; the command and its child processes were killed]",
        True,
    )


def test_the_context_gives_the_default_timeout(workspace_dir: Path) -> None:
    context = ToolContext(workspace=Workspace(workspace_dir), command_timeout_seconds=0.2)

    assert outcome(run("sleep 100", context)) == (
        "[timed out after 0.2 seconds; the command and its child processes were killed]",
        True,
    )


def test_background_processes_are_stopped_when_the_command_returns(
    context: ToolContext, child_seconds: str
) -> None:
    started = time.monotonic()

    result = run(f"sleep {child_seconds} & echo started", context)

    assert time.monotonic() - started < NEVER_ENDS_SECONDS
    assert outcome(result) == ("started\n[exit code 0]", False)
    assert wait_until_no_process(f"sleep {child_seconds}")


def test_cancelling_the_caller_kills_the_command_and_its_children(
    context: ToolContext, workspace_dir: Path, child_seconds: str
) -> None:
    async def cancel_midway() -> None:
        command = spawns_a_child(child_seconds)
        task = asyncio.create_task(RUN_COMMAND.run({"command": command}, context))
        await wait_for_file(workspace_dir / "child.pid")
        # The child was forked before the file was written; it may not have run sleep yet.
        deadline = time.monotonic() + 60
        while processes_running(f"sleep {child_seconds}") != 1:
            assert time.monotonic() < deadline, "the child never started"
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_midway())

    assert wait_until_no_process(f"sleep {child_seconds}")


def test_a_run_timeout_around_the_tool_calls_kills_the_commands(
    context: ToolContext, child_seconds: str
) -> None:
    command = spawns_a_child(child_seconds)
    calls = [ToolCall(id="1", name="run_command", arguments={"command": command})]

    async def run_with_a_deadline() -> None:
        async with asyncio.timeout(0.5):
            await run_tool_calls(calls, builtin_tools(None), context)

    with pytest.raises(TimeoutError):
        asyncio.run(run_with_a_deadline())

    assert wait_until_no_process(f"sleep {child_seconds}")


def test_the_environment_is_clean(context: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("HARMLESS_SETTING", "yes")
    monkeypatch.setenv("LANG", "C.UTF-8")

    result = run("env | sort", context)

    assert outcome(result) == (
        "GIT_PAGER=cat\n"
        "GIT_TERMINAL_PROMPT=0\n"
        "HOME=/tmp/home\n"
        "LANG=C.UTF-8\n"
        "PAGER=cat\n"
        f"PATH={os.environ['PATH']}\n"
        f"PWD={context.workspace.root}\n"
        "SHLVL=1\n"
        "TERM=dumb\n"
        "TMPDIR=/tmp\n"
        "_=/usr/bin/env\n"
        "[exit code 0]",
        False,
    )


def test_variables_the_agent_is_given_by_name_are_passed(
    workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARMLESS_SETTING", "yes")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    sandbox = Sandbox(access=AgentAccess(env=("HARMLESS_SETTING", "NOT_SET_ANYWHERE")))
    context = ToolContext(workspace=Workspace(workspace_dir), sandbox=sandbox)

    result = run(
        "echo ${HARMLESS_SETTING-unset} ${OPENAI_API_KEY-unset} ${NOT_SET_ANYWHERE-unset}", context
    )

    assert outcome(result) == ("yes unset unset\n[exit code 0]", False)


def test_a_command_that_cannot_start_is_an_error(workspace_dir: Path, context: ToolContext) -> None:
    workspace_dir.rmdir()

    result = run("true", context)

    assert (result.output, result.is_error) == ("No such file or directory: '.'", True)
