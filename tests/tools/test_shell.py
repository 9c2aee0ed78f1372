"""run_command: output and exit code, time limit, cancellation, no secrets, no leftovers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from taskline.llm.types import ToolCall
from taskline.tools import ToolContext, ToolResult, Workspace, builtin_tools, run_tool_calls
from taskline.tools.shell import RUN_COMMAND, command_environment
from tests.tools.helpers import call, is_running, wait_for_file, wait_until_gone

# Starts a child in the background, tells its pid, then waits for it: a command that only
# ends when killed, and whose child must die with it.
SPAWNS_A_CHILD = "sleep 100 & echo $! > child.pid; wait"


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
    context: ToolContext, workspace_dir: Path
) -> None:
    started = time.monotonic()

    result = run(SPAWNS_A_CHILD, context, timeout_seconds=0.5)

    assert outcome(result) == (
        "[timed out after 0.5 seconds; the command and its child processes were killed]",
        True,
    )
    assert time.monotonic() - started < 5
    child = int((workspace_dir / "child.pid").read_text())
    assert wait_until_gone(child)


def test_output_before_the_timeout_is_kept(context: ToolContext) -> None:
    result = run("echo started; sleep 100", context, timeout_seconds=0.3)

    assert outcome(result) == (
        "started\n[timed out after 0.3 seconds; the command and its child processes were killed]",
        True,
    )


def test_the_context_gives_the_default_timeout(workspace_dir: Path) -> None:
    context = ToolContext(workspace=Workspace(workspace_dir), command_timeout_seconds=0.2)

    assert outcome(run("sleep 100", context)) == (
        "[timed out after 0.2 seconds; the command and its child processes were killed]",
        True,
    )


def test_background_processes_are_stopped_when_the_command_returns(
    context: ToolContext,
) -> None:
    started = time.monotonic()

    result = run("sleep 100 & echo $!", context)

    assert time.monotonic() - started < 5
    child = int(result.output.split("\n")[0])
    assert outcome(result) == (f"{child}\n[exit code 0]", False)
    assert wait_until_gone(child)


def test_cancelling_the_caller_kills_the_command_and_its_children(
    context: ToolContext, workspace_dir: Path
) -> None:
    async def cancel_midway() -> int:
        task = asyncio.create_task(RUN_COMMAND.run({"command": SPAWNS_A_CHILD}, context))
        child = int(await wait_for_file(workspace_dir / "child.pid"))
        assert is_running(child)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return child

    child = asyncio.run(cancel_midway())

    assert wait_until_gone(child)


def test_a_run_timeout_around_the_tool_calls_kills_the_commands(
    context: ToolContext, workspace_dir: Path
) -> None:
    calls = [ToolCall(id="1", name="run_command", arguments={"command": SPAWNS_A_CHILD})]

    async def run_with_a_deadline() -> None:
        async with asyncio.timeout(0.5):
            await run_tool_calls(calls, builtin_tools(None), context)

    with pytest.raises(TimeoutError):
        asyncio.run(run_with_a_deadline())

    child = int((workspace_dir / "child.pid").read_text())
    assert wait_until_gone(child)


def test_secrets_are_not_in_the_environment(
    context: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://example.invalid")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test")
    monkeypatch.setenv("TASKLINE_DATABASE_URL", "postgresql://u:pw@db/taskline")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("MY_SERVICE_PASSWORD", "hunter2")
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("HARMLESS_SETTING", "yes")

    result = run("env", context)

    variables = dict(line.split("=", 1) for line in result.output.splitlines()[:-1] if "=" in line)
    assert (
        not {
            "OPENAI_API_KEY",
            "ANTHROPIC_BASE_URL",
            "GITHUB_TOKEN",
            "TASKLINE_DATABASE_URL",
            "AWS_REGION",
            "MY_SERVICE_PASSWORD",
        }
        & variables.keys()
    )
    assert "sk-test" not in result.output
    assert "hunter2" not in result.output
    assert (variables["LANG"], variables["HARMLESS_SETTING"]) == ("C.UTF-8", "yes")
    assert variables["PATH"]
    assert variables["HOME"]


def test_command_environment_keeps_only_what_holds_no_secret() -> None:
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/me",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "VIRTUAL_ENV": "/venv",
        "OPENAI_API_KEY": "1",
        "OPENAI_BASE_URL": "2",
        "ANTHROPIC_API_KEY": "3",
        "AWS_ACCESS_KEY_ID": "4",
        "AWS_PROFILE": "5",
        "GITHUB_TOKEN": "6",
        "HF_TOKEN": "7",
        "TASKLINE_DATABASE_URL": "8",
        "DATABASE_URL": "9",
        "PGPASSWORD": "10",
        "SENTRY_DSN": "11",
        "api_key": "12",
        "My_Secret": "13",
        "NPM_AUTH": "14",
        "GOOGLE_APPLICATION_CREDENTIALS": "15",
    }

    assert command_environment(environ) == {
        "PATH": "/usr/bin",
        "HOME": "/home/me",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "VIRTUAL_ENV": "/venv",
        "PAGER": "cat",
        "GIT_PAGER": "cat",
        "GIT_TERMINAL_PROMPT": "0",
    }


def test_a_command_that_cannot_start_is_an_error(workspace_dir: Path, context: ToolContext) -> None:
    workspace_dir.rmdir()

    result = run("true", context)

    assert (result.output, result.is_error) == ("No such file or directory: '.'", True)
