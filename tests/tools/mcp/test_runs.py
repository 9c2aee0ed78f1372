"""Runs whose agents use MCP servers: real servers, recorded calls, refusals, failures, ends."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from taskline import Status, Taskline
from taskline.config import Config
from taskline.tools.mcp.config import McpServerConfig
from taskline.tools.registry import BUILTIN_TOOLS
from tests.engine.scripting import call, last_tool_results, metrics_of, scripted, submit
from tests.tools.mcp.conftest import assert_no_processes, server_command
from tests.tools.mcp.servers.http_server import http_mcp_server

BUILTIN = [tool.name for tool in BUILTIN_TOOLS]
GIT_TOOLS = [
    "git_status", "git_diff_unstaged", "git_diff_staged", "git_diff", "git_commit", "git_add",
    "git_reset", "git_log", "git_create_branch", "git_checkout", "git_show", "git_branch",
]  # fmt: skip


def with_servers(tl: Taskline, **servers: dict[str, Any]) -> Taskline:
    """`tl` with `[mcp.NAME]` tables for `servers`."""
    tl.config = Config(
        mcp={name: McpServerConfig.model_validate(table) for name, table in servers.items()}
    )
    return tl


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Test Agent")
    git(path, "config", "user.email", "agent@example.com")
    (path / "README.md").write_text("# project\n")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "-m", "Start")
    return path


def tool_calls(tl: Taskline, task_id: str) -> list[tuple[str, dict[str, Any], str, bool]]:
    """(name, arguments, output, is_error) of every recorded tool call of the task."""
    detail = tl.detail(task_id)
    return [
        (c.name, c.arguments, c.output, c.is_error)
        for run in detail.runs
        for c in detail.tool_calls[run.id]
    ]


def test_an_agent_commits_its_work_through_mcp_server_git(tl: Taskline, repo: Path) -> None:
    with_servers(tl, git={"command": ["mcp-server-git", "--repository", "{workspace}"]})
    tl.add_agent("committer", model="scripted:none", mcp=["git"])
    task = tl.create_task("Add a changelog", workspace=repo)
    factory, [model] = scripted(
        [
            # the server runs in the workspace: "." is the repository
            call("git__git_status", repo_path="."),
            call("write_file", path="CHANGELOG.md", content="# Changes\n"),
            call("git__git_add", repo_path=str(repo), files=["CHANGELOG.md"]),
            call("git__git_commit", repo_path=str(repo), message="Add a changelog"),
            submit("Committed CHANGELOG.md."),
        ]
    )
    tl.model_factory = factory
    tl.assign(task.id, "committer")

    done = tl.run_task(task.id)

    assert done.status is Status.COMPLETED
    assert git(repo, "log", "--format=%s %an") == "Add a changelog Test Agent\nStart Test Agent\n"
    assert git(repo, "show", "--name-only", "--format=", "HEAD") == "CHANGELOG.md\n"
    head = git(repo, "rev-parse", "HEAD").strip()
    assert [tool.name for tool in model.calls[0].tools] == [
        *BUILTIN,
        *(f"git__{name}" for name in GIT_TOOLS),
    ]
    assert model.calls[0].tools[len(BUILTIN)].description == "Shows the working tree status"
    assert model.calls[0].tools[len(BUILTIN)].parameters["required"] == ["repo_path"]
    assert tool_calls(tl, task.id) == [
        (
            "git__git_status",
            {"repo_path": "."},
            "Repository status:\nOn branch main\nnothing to commit, working tree clean",
            False,
        ),
        ("write_file", {"path": "CHANGELOG.md", "content": "# Changes\n"},
         "wrote 10 bytes to CHANGELOG.md", False),
        ("git__git_add", {"repo_path": str(repo), "files": ["CHANGELOG.md"]},
         "Files staged successfully", False),
        ("git__git_commit", {"repo_path": str(repo), "message": "Add a changelog"},
         f"Changes committed successfully with hash {head}", False),
        ("submit_work", {"summary": "Committed CHANGELOG.md."}, "work submitted for review",
         False),
    ]  # fmt: skip
    # MCP calls count as tool calls: 5 turns, 5 tool calls
    assert metrics_of(tl, task.id)[0] == 5
    assert metrics_of(tl, task.id)[6] == 5


def test_a_tool_not_on_the_allow_list_is_neither_offered_nor_run(tl: Taskline, repo: Path) -> None:
    with_servers(tl, git={"command": ["mcp-server-git", "--repository", "{workspace}"]})
    tl.add_agent("reader", model="scripted:none", mcp=["git:git_status,git_diff"])
    task = tl.create_task("Look, do not touch", workspace=repo)
    factory, [model] = scripted(
        [
            call("git__git_commit", repo_path=str(repo), message="sneaky"),
            submit("Only looked."),
        ]
    )
    tl.model_factory = factory
    tl.assign(task.id, "reader")

    done = tl.run_task(task.id)

    assert done.status is Status.COMPLETED
    assert [t.name for t in model.calls[0].tools] == [*BUILTIN, "git__git_status", "git__git_diff"]
    available = ", ".join(sorted([*BUILTIN, "git__git_status", "git__git_diff"]))
    assert last_tool_results(model.calls[1]) == [
        ("git__git_commit", f"unknown tool 'git__git_commit'; available: {available}", True)
    ]
    assert git(repo, "log", "--format=%s") == "Start\n"


def test_an_allow_list_naming_a_tool_the_server_lacks_stops_the_run_at_start(
    tl: Taskline, repo: Path
) -> None:
    with_servers(tl, git={"command": ["mcp-server-git", "--repository", "{workspace}"]})
    tl.add_agent("typo", model="scripted:none", mcp=["git:git_stat"])
    task = tl.create_task("Look", workspace=repo)
    factory, [model] = scripted([submit("never asked")])
    tl.model_factory = factory
    tl.assign(task.id, "typo")

    done = tl.run_task(task.id)

    assert (done.status, done.failure_category, done.failure_message) == (
        Status.FAILED,
        "crashed",
        "mcp server 'git' has no tool 'git_stat', which the agent's allow-list names;"
        f" its tools: {', '.join(GIT_TOOLS)}",
    )
    assert model.calls == []


def test_mcp_server_time_answers_in_a_run(tl: Taskline) -> None:
    with_servers(tl, time={"command": ["mcp-server-time", "--local-timezone", "UTC"]})
    tl.add_agent("clock", model="scripted:none", mcp=["time"])
    task = tl.create_task("What time is noon UTC in Tokyo?")
    convert = call(
        "time__convert_time", source_timezone="UTC", time="12:00", target_timezone="Asia/Tokyo"
    )
    factory, [model] = scripted([convert, submit("21:00")])
    tl.model_factory = factory
    tl.assign(task.id, "clock")

    assert tl.run_task(task.id).status is Status.COMPLETED

    [(name, output, is_error)] = last_tool_results(model.calls[1])
    answer = json.loads(output)
    assert (name, is_error) == ("time__convert_time", False)
    assert (answer["source"]["timezone"], answer["source"]["datetime"][10:]) == (
        "UTC",
        "T12:00:00+00:00",
    )
    assert (answer["target"]["timezone"], answer["target"]["datetime"][10:]) == (
        "Asia/Tokyo",
        "T21:00:00+09:00",
    )
    assert answer["time_difference"] == "+9.0h"


def test_an_http_server_answers_with_the_header_from_the_environment(
    tl: Taskline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCP_TEST_TOKEN", "s3cret")
    with http_mcp_server("s3cret") as server:
        headers = {"Authorization": "Bearer ${MCP_TEST_TOKEN}"}
        with_servers(tl, web={"url": server.url, "headers": headers})
        tl.add_agent("caller", model="scripted:none", mcp=["web"])
        task = tl.create_task("Add")
        factory, [model] = scripted([call("web__add", a=40, b=2), submit("42")])
        tl.model_factory = factory
        tl.assign(task.id, "caller")

        assert tl.run_task(task.id).status is Status.COMPLETED

    assert last_tool_results(model.calls[1]) == [("web__add", "42", False)]
    assert tool_calls(tl, task.id)[0] == ("web__add", {"a": 40, "b": 2}, "42", False)


def test_a_server_that_crashes_mid_run_gives_error_results_while_down(
    tl: Taskline, tag: str
) -> None:
    with_servers(tl, flaky={"command": server_command(tag, "--once")})
    tl.add_agent("prober", model="scripted:none", mcp=["flaky"])
    task = tl.create_task("Probe")
    factory, [model] = scripted(
        [
            call("flaky__echo", text="one"),
            call("flaky__crash"),
            call("flaky__echo", text="two"),
            submit("The server died."),
        ]
    )
    tl.model_factory = factory
    tl.assign(task.id, "prober")

    done = tl.run_task(task.id)

    assert done.status is Status.COMPLETED
    assert [last_tool_results(c) for c in model.calls[1:]] == [
        [("flaky__echo", "echo: one", False)],
        [
            (
                "flaky__crash",
                "mcp server 'flaky' stopped during the call (connection closed; stderr:"
                " crashing on purpose); the next call restarts it",
                True,
            )
        ],
        [
            (
                "flaky__echo",
                "mcp server 'flaky' is down: it did not start: connection closed; stderr:"
                " test-server: refusing to start",
                True,
            )
        ],
    ]
    assert_no_processes(tag)


def test_odd_tool_names_are_made_to_fit_the_providers_rule(tl: Taskline, tag: str) -> None:
    with_servers(tl, flaky={"command": server_command(tag)})
    tl.add_agent("namer", model="scripted:none", mcp=["flaky:files.read," + "x" * 70])
    task = tl.create_task("Names")
    long_name = "flaky__" + "x" * 48 + "_" + "c71bd109"  # sha256 of the name, cut
    factory, [model] = scripted(
        [call("flaky__files_read"), call(long_name), submit("Both answered.")]
    )
    tl.model_factory = factory
    tl.assign(task.id, "namer")

    assert tl.run_task(task.id).status is Status.COMPLETED

    assert [t.name for t in model.calls[0].tools][len(BUILTIN) :] == [
        "flaky__files_read",
        long_name,
    ]
    assert len(long_name) == 64
    assert last_tool_results(model.calls[1]) == [("flaky__files_read", "dotted", False)]
    assert last_tool_results(model.calls[2]) == [(long_name, "long", False)]


def test_a_server_that_does_not_start_fails_the_run_before_the_model_is_asked(
    tl: Taskline, tag: str
) -> None:
    other = tag + "-ok"
    with_servers(
        tl,
        good={"command": server_command(other)},
        bad={"command": server_command(tag, "--exit-at-start")},
    )
    tl.add_agent("unlucky", model="scripted:none", mcp=["good", "bad"])
    task = tl.create_task("Never starts")
    factory, [model] = scripted([submit("never asked")])
    tl.model_factory = factory
    tl.assign(task.id, "unlucky")

    done = tl.run_task(task.id)

    assert (done.status, done.failure_category, done.failure_message) == (
        Status.FAILED,
        "crashed",
        "mcp server 'bad' did not start: connection closed; stderr: test-server: refusing to start",
    )
    assert model.calls == []
    assert_no_processes(other)
    assert_no_processes(tag)


def test_a_run_that_times_out_in_a_hung_call_stops_its_server(tl: Taskline, tag: str) -> None:
    with_servers(tl, flaky={"command": server_command(tag)})
    tl.add_agent("waiter", model="scripted:none", mcp=["flaky"])
    # Long enough for the server to start and the call to begin on a loaded machine.
    task = tl.create_task("Wait forever", timeout_seconds=10)
    factory, _ = scripted([call("flaky__hang"), submit("never")])
    tl.model_factory = factory
    tl.assign(task.id, "waiter")

    done = tl.run_task(task.id)

    assert (done.status, done.failure_category, done.failure_message) == (
        Status.FAILED,
        "timeout",
        "the run took longer than 10 s",
    )
    assert tool_calls(tl, task.id) == [
        ("flaky__hang", {}, "cancelled: the run reached its time limit", True)
    ]
    assert_no_processes(tag)


def test_a_run_whose_model_fails_stops_its_server(tl: Taskline, tag: str) -> None:
    with_servers(tl, flaky={"command": server_command(tag)})
    tl.add_agent("doomed", model="scripted:none", mcp=["flaky"])
    task = tl.create_task("Run out of script")
    factory, _ = scripted([call("flaky__echo", text="only")])
    tl.model_factory = factory
    tl.assign(task.id, "doomed")

    done = tl.run_task(task.id)

    assert (done.status, done.failure_category) == (Status.FAILED, "provider_error")
    assert_no_processes(tag)


def test_a_cancelled_task_stops_its_server_in_the_middle_of_a_call(
    tl: Taskline, tag: str, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    with_servers(tl, flaky={"command": server_command(tag)})
    tl.add_agent("stuck", model="scripted:none", mcp=["flaky"])
    task = tl.create_task("Hang until cancelled", workspace=workspace)
    factory, _ = scripted([call("flaky__hang"), submit("never")])
    tl.model_factory = factory
    tl.assign(task.id, "stuck")
    ended: list[Status] = []
    runner = threading.Thread(target=lambda: ended.append(tl.run_task(task.id).status))
    runner.start()
    deadline = time.monotonic() + 60
    while not (workspace / "hanging").exists():
        assert runner.is_alive(), "the run ended before its call started"
        assert time.monotonic() < deadline, "the call never started"
        time.sleep(0.02)

    tl.cancel(task.id, reason="enough")
    runner.join(60)

    assert ended == [Status.CANCELLED]
    assert [run.status for run in tl.runs(task.id)] == ["cancelled"]
    assert_no_processes(tag)


def test_a_long_result_is_cut_like_a_built_in_tools(tl: Taskline, tag: str) -> None:
    with_servers(tl, flaky={"command": server_command(tag)})
    tl.add_agent("talker", model="scripted:none", mcp=["flaky"])
    task = tl.create_task("Echo a lot")
    text = "".join(f"{i:06d}\n" for i in range(5000))  # 35,000 bytes
    factory, [model] = scripted([call("flaky__echo", text=text), submit("Long.")])
    tl.model_factory = factory
    tl.assign(task.id, "talker")

    assert tl.run_task(task.id).status is Status.COMPLETED

    [(name, output, is_error)] = last_tool_results(model.calls[1])
    assert (name, is_error) == ("flaky__echo", False)
    full = f"echo: {text}"
    assert output == full[:10_000] + "\n[... 15006 bytes cut ...]\n" + full[-10_000:]
    assert tool_calls(tl, task.id)[0][2] == output
