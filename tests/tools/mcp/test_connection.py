"""One server's connection: starting, calling, timing out, dying, restarting, stopping."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from taskline.errors import McpServerError
from taskline.records import SandboxMode
from taskline.tools.mcp.config import McpServerConfig
from taskline.tools.mcp.connection import McpConnection
from taskline.tools.mcp.launch import named_in_tmp
from taskline.tools.mcp.tool import result_text
from taskline.tools.sandbox import Sandbox, SandboxSettings
from tests.tools.mcp.conftest import STDIO_SERVER, processes_tagged, server_command

T = TypeVar("T")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


def with_server(
    workspace: Path,
    config: dict[str, Any],
    use: Callable[[McpConnection], Awaitable[T]],
    sandbox: Sandbox | None = None,
) -> T:
    """`use(connection)` with the server started, and the server stopped afterwards."""

    async def main() -> T:
        connection = McpConnection(
            "t",
            McpServerConfig.model_validate(config),
            workspace=workspace,
            sandbox=sandbox or Sandbox(),
        )
        try:
            await connection.start()
            return await use(connection)
        finally:
            await connection.close()

    return asyncio.run(main())


async def text_of(connection: McpConnection, tool: str, **arguments: Any) -> tuple[str, bool]:
    result = await connection.call(tool, arguments)
    return result_text(result), result.is_error


async def error_of(connection: McpConnection, tool: str, **arguments: Any) -> str:
    with pytest.raises(McpServerError) as caught:
        await connection.call(tool, arguments)
    return str(caught.value)


def start_error(workspace: Path, config: dict[str, Any]) -> str:
    async def never(_: McpConnection) -> None:
        raise AssertionError("the server started")

    with pytest.raises(McpServerError) as caught:
        with_server(workspace, config, never)
    return str(caught.value)


def test_a_stdio_server_lists_its_tools_and_answers(workspace: Path, tag: str) -> None:
    async def use(connection: McpConnection) -> tuple[str, bool]:
        return await text_of(connection, "echo", text="hi")

    assert with_server(workspace, {"command": server_command(tag)}, use) == ("echo: hi", False)
    assert processes_tagged(tag) == []


def test_a_tool_error_is_an_error_result(workspace: Path, tag: str) -> None:
    async def use(connection: McpConnection) -> tuple[str, bool]:
        return await text_of(connection, "read", path="missing.txt")

    assert with_server(workspace, {"command": server_command(tag)}, use) == (
        "Error executing tool read: No such file or directory: missing.txt",
        True,
    )


@pytest.mark.parametrize("mode", ["bubblewrap", "none"])
def test_a_server_gets_only_the_variables_named_for_it(
    workspace: Path, tag: str, mode: SandboxMode, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "gh-passed")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-passed")
    monkeypatch.setenv("LANG", "C.UTF-8")
    sandbox = Sandbox(settings=SandboxSettings(mode=mode))

    async def use(connection: McpConnection) -> tuple[str, bool]:
        return await text_of(connection, "environment")

    config = {"command": server_command(tag), "env": ["GITHUB_TOKEN", "NOT_SET_ANYWHERE"]}
    output, is_error = with_server(workspace, config, use, sandbox)
    home = "/tmp/home" if mode == "bubblewrap" else str(Path.home())
    # bwrap says where it put the server, as a shell would
    where = {"PWD": str(workspace)} if mode == "bubblewrap" else {}
    assert (json.loads(output), is_error) == (
        where
        | {
            "GITHUB_TOKEN": "gh-passed",
            "GIT_PAGER": "cat",
            "GIT_TERMINAL_PROMPT": "0",
            "HOME": home,
            "LANG": "C.UTF-8",
            "PAGER": "cat",
            "PATH": os.environ["PATH"],
            "TERM": "dumb",
            "TMPDIR": "/tmp",
        },
        False,
    )


def test_a_sandboxed_server_works_in_the_workspace_and_sees_no_private_file(
    workspace: Path, tag: str, tmp_path: Path
) -> None:
    (workspace / "notes.txt").write_text("in the workspace\n")
    private = tmp_path / "home"
    private.mkdir()
    (private / "api-token").write_text("secret\n")
    sandbox = Sandbox(private_paths=(private,))

    async def use(connection: McpConnection) -> list[tuple[str, bool]]:
        return [
            await text_of(connection, "read", path="notes.txt"),
            await text_of(connection, "read", path=str(private / "api-token")),
        ]

    assert with_server(workspace, {"command": server_command(tag)}, use, sandbox) == [
        ("in the workspace\n", False),
        (f"Error executing tool read: No such file or directory: {private / 'api-token'}", True),
    ]


def test_workspace_in_the_command_line_is_the_workspace(workspace: Path, tag: str) -> None:
    (workspace / "config.json").write_text('{"answer": 42}')

    async def use(connection: McpConnection) -> tuple[str, bool]:
        return await text_of(connection, "read", path=str(workspace / "config.json"))

    command = [*server_command(tag), "--tag", "{workspace}"]
    assert with_server(workspace, {"command": command}, use) == ('{"answer": 42}', False)


def test_a_command_that_is_not_installed_does_not_start(workspace: Path) -> None:
    beside = Path(sys.executable).parent
    assert start_error(workspace, {"command": ["no-such-mcp-server", "--flag"]}) == (
        f"mcp server 't' did not start: command 'no-such-mcp-server' is not on PATH or in {beside}"
    )


def test_a_server_that_exits_at_start_says_why(workspace: Path, tag: str) -> None:
    assert start_error(workspace, {"command": server_command(tag, "--exit-at-start")}) == (
        "mcp server 't' did not start: connection closed; stderr: test-server: refusing to start"
    )
    assert processes_tagged(tag) == []


def test_a_server_that_never_answers_at_start_is_stopped(workspace: Path, tag: str) -> None:
    config = {"command": server_command(tag, "--slow-start"), "start_timeout_seconds": 1}
    assert start_error(workspace, config) == (
        "mcp server 't' did not start: no answer within 1 s (start_timeout_seconds)"
    )
    assert processes_tagged(tag) == []


def test_a_hung_call_times_out_and_the_server_goes_on(workspace: Path, tag: str) -> None:
    async def use(connection: McpConnection) -> tuple[str, tuple[str, bool]]:
        return await error_of(connection, "hang"), await text_of(connection, "echo", text="on")

    config = {"command": server_command(tag), "timeout_seconds": 1}
    assert with_server(workspace, config, use) == (
        "mcp server 't' did not answer hang within 1 s (timeout_seconds)",
        ("echo: on", False),
    )


def test_a_server_that_dies_in_a_call_is_restarted_by_the_next(workspace: Path, tag: str) -> None:
    async def use(connection: McpConnection) -> tuple[str, tuple[str, bool]]:
        return await error_of(connection, "crash"), await text_of(connection, "echo", text="back")

    assert with_server(workspace, {"command": server_command(tag)}, use) == (
        "mcp server 't' stopped during the call (connection closed; stderr: crashing on"
        " purpose); the next call restarts it",
        ("echo: back", False),
    )
    assert processes_tagged(tag) == []


def test_a_server_that_cannot_restart_is_down_for_every_call(workspace: Path, tag: str) -> None:
    async def use(connection: McpConnection) -> list[str]:
        return [await error_of(connection, tool) for tool in ("crash", "echo", "echo")]

    down = (
        "mcp server 't' is down: it did not start: connection closed;"
        " stderr: test-server: refusing to start"
    )
    assert with_server(workspace, {"command": server_command(tag, "--once")}, use) == [
        "mcp server 't' stopped during the call (connection closed; stderr: crashing on"
        " purpose); the next call restarts it",
        down,
        down,
    ]
    assert processes_tagged(tag) == []


def test_calls_of_one_turn_restart_a_dead_server_once(workspace: Path, tag: str) -> None:
    async def use(connection: McpConnection) -> list[tuple[str, bool]]:
        await error_of(connection, "crash")
        calls = [text_of(connection, "echo", text=str(i)) for i in range(4)]
        return list(await asyncio.gather(*calls))

    assert with_server(workspace, {"command": server_command(tag)}, use) == [
        (f"echo: {i}", False) for i in range(4)
    ]
    assert (workspace / "crashed-once").exists()


def test_a_call_the_server_refuses_is_one_line(workspace: Path) -> None:
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)

    async def use(connection: McpConnection) -> str:
        return await error_of(connection, "git_rebase", repo_path=".")

    config = {"command": ["mcp-server-git", "--repository", "{workspace}"]}
    assert with_server(workspace, config, use) == (
        "mcp server 't' refused the call: Unknown tool: git_rebase"
    )


@pytest.mark.parametrize("stage", ["sandbox", "server"])
def test_a_start_cancelled_midway_leaves_no_server(workspace: Path, tag: str, stage: str) -> None:
    config = McpServerConfig(command=tuple(server_command(tag, "--slow-start")))

    async def main() -> None:
        connection = McpConnection("t", config, workspace=workspace, sandbox=Sandbox())
        starting = asyncio.create_task(connection.start())
        # The tag shows first on the command line of bwrap making the sandbox: a cancel
        # then may kill bwrap before the sandbox's first process dies with it, which left
        # that process running with the pipes open, and the start waiting on them for good
        # (one loaded run in thirty). `server`: once the server itself runs.
        deadline = time.monotonic() + 60
        while not (
            processes_tagged(tag) if stage == "sandbox" else (workspace / "starting").exists()
        ):
            assert time.monotonic() < deadline, "the server never started"
            await asyncio.sleep(0)
        starting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await starting
        # Gone while the loop still runs: not only once asyncio.run cancels what is left.
        deadline = time.monotonic() + 60
        while processes_tagged(tag):
            assert time.monotonic() < deadline, "the server outlived its cancelled start"
            await asyncio.sleep(0.05)

    asyncio.run(main())


def test_every_process_of_a_sandboxed_server_is_in_one_group_its_start_can_kill(
    workspace: Path, tag: str
) -> None:
    # The SDK stops a server by killing its process group: bwrap's `--new-session` took the
    # sandbox out of it.
    async def groups(_: McpConnection) -> tuple[int, set[int], set[int]]:
        tagged = processes_tagged(tag)
        return len(tagged), {os.getpgid(pid) for pid in tagged}, set(tagged)

    count, found, tagged = with_server(workspace, {"command": server_command(tag)}, groups)

    # bwrap, bwrap as the sandbox's first process, the server; the group's leader the first
    assert count == 3
    assert len(found) == 1
    assert found <= tagged


def test_a_server_script_under_tmp_is_found_in_the_sandbox(workspace: Path, tag: str) -> None:
    # The sandbox has a /tmp of its own: only what the command line names comes back.
    with tempfile.TemporaryDirectory(dir="/tmp") as kept_in_tmp:
        script = Path(kept_in_tmp) / "server.py"
        shutil.copy(STDIO_SERVER, script)
        (Path(kept_in_tmp) / "beside.txt").write_text("beside\n")
        command = [sys.executable, str(script), "--tag", tag]

        async def use(connection: McpConnection) -> tuple[str, bool]:
            return await text_of(connection, "echo", text="from /tmp")

        assert with_server(workspace, {"command": command}, use) == ("echo: from /tmp", False)
        assert named_in_tmp(tuple(command)) == [Path(kept_in_tmp).resolve()]
    assert named_in_tmp(("/tmp", "relative.py", "/usr/bin/env")) == []
