"""Escapes tried through the real run_command tool, in a real sandbox: each must fail."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskline.tools import ToolContext, ToolResult, Workspace
from taskline.tools.sandbox import AgentAccess, Sandbox, SandboxSettings, toolchains_in_tmp
from taskline.tools.shell import RUN_COMMAND
from tests.tools.helpers import call

SECRETS = {
    "OPENAI_API_KEY": "sk-sandbox-test-openai",
    "TASKLINE_API_TOKEN": "tl-sandbox-test-token",
    "AWS_SECRET_ACCESS_KEY": "aws-sandbox-test-secret",
}


def run(command: str, context: ToolContext, timeout_seconds: float = 60) -> ToolResult:
    return call(RUN_COMMAND, {"command": command, "timeout_seconds": timeout_seconds}, context)


def in_sandbox(workspace: Path, sandbox: Sandbox | None = None) -> ToolContext:
    return ToolContext(workspace=Workspace(workspace), sandbox=sandbox or Sandbox())


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("secrets")
@pytest.mark.parametrize("process", ["$PPID", "1", "self"])
def test_no_secret_in_any_environ(workspace: Path, process: str) -> None:
    result = run(f"tr '\\0' '\\n' < /proc/{process}/environ | sort", in_sandbox(workspace))

    assert not result.is_error
    assert not [value for value in SECRETS.values() if value in result.output]
    assert not [name for name in SECRETS if name in result.output]


@pytest.mark.usefixtures("secrets")
def test_pid_1_and_the_parent_were_started_with_an_empty_environment(workspace: Path) -> None:
    result = run("wc -c < /proc/1/environ; wc -c < /proc/$PPID/environ", in_sandbox(workspace))

    assert (result.output, result.is_error) == ("0\n0\n[exit code 0]", False)


def test_only_the_sandbox_processes_are_visible(workspace: Path) -> None:
    # Shell builtins only: a pipeline's processes would show or not depending on how far
    # the shell got in starting them (on a loaded machine, ls can finish before grep starts).
    command = "for p in /proc/[0-9]*; do read -r name < $p/comm; echo ${p#/proc/} $name; done"

    result = run(command, in_sandbox(workspace))

    assert (result.output, result.is_error) == ("1 bwrap\n2 bash\n[exit code 0]", False)


def test_credentials_in_a_home_that_is_the_workspace_are_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "me"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("-----BEGIN FAKE KEY-----\n")
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text("aws_secret_access_key = fake\n")
    (home / ".netrc").write_text("machine example.com password fake\n")
    (home / "notes.txt").write_text("mine\n")
    monkeypatch.setenv("HOME", str(home))

    result = run(
        "cat notes.txt; ls -A .ssh .aws; wc -c < .netrc; cat .ssh/id_rsa", in_sandbox(home)
    )

    assert (result.output, result.is_error) == (
        "mine\n.aws:\n\n.ssh:\n/usr/bin/bash: line 1: .netrc: Permission denied\n"
        "cat: .ssh/id_rsa: No such file or directory\n[exit code 1]",
        True,
    )
    assert (home / ".ssh" / "id_rsa").read_text() == "-----BEGIN FAKE KEY-----\n"


def test_exposed_places_stay_visible_and_more_can_be_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "me"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text("Host *\n")
    (home / "private").mkdir()
    (home / "private" / "diary.txt").write_text("dear diary\n")
    monkeypatch.setenv("HOME", str(home))
    settings = SandboxSettings(expose=("~/.ssh",), hide=("~/private",))

    result = run("cat .ssh/config; ls -A private", in_sandbox(home, Sandbox(settings=settings)))

    assert (result.output, result.is_error) == ("Host *\n[exit code 0]", False)


def test_taskline_files_inside_the_workspace_are_hidden(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".taskline").mkdir(parents=True)
    (project / ".taskline" / "api-token").write_text("tl-secret\n")
    (project / "taskline.toml").write_text("[defaults]\n")
    private = (project / ".taskline", project / "taskline.toml")

    result = run(
        "ls -A .taskline; wc -c < taskline.toml; cat .taskline/api-token",
        in_sandbox(project, Sandbox(private_paths=private)),
    )

    assert (result.output, result.is_error) == (
        "/usr/bin/bash: line 1: taskline.toml: Permission denied\n"
        "cat: .taskline/api-token: No such file or directory\n[exit code 1]",
        True,
    )


def test_only_the_workspace_and_a_private_tmp_are_writable(workspace: Path, tmp_path: Path) -> None:
    beside = tmp_path / "beside.txt"

    result = run(
        f"echo x > {beside}; echo y > mine.txt; echo z > /tmp/scratch; cat /tmp/scratch;"
        " awk '$5 == \"/\" {print $6}' /proc/self/mountinfo",
        in_sandbox(workspace),
    )

    assert (result.output, result.is_error) == (
        "z\nro,nosuid,nodev,relatime\n[exit code 0]",
        False,
    )
    assert not beside.exists()
    assert (workspace / "mine.txt").read_text() == "y\n"


class Listener:
    """A TCP server on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.socket.getsockname()[1]
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:  # closed
                return
            self.accepted += 1
            connection.sendall(b"hello\n")
            connection.close()

    def close(self) -> None:
        self.socket.close()
        self._thread.join(timeout=10)


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


CONNECT = "exec 3<>/dev/tcp/127.0.0.1/{port} && head -n 1 <&3"


def test_no_network_by_default(workspace: Path, listener: Listener) -> None:
    result = run(CONNECT.format(port=listener.port), in_sandbox(workspace))

    assert (result.output, result.is_error) == (
        f"/usr/bin/bash: connect: Connection refused\n"
        f"/usr/bin/bash: line 1: /dev/tcp/127.0.0.1/{listener.port}: Connection refused\n"
        "[exit code 1]",
        True,
    )
    assert listener.accepted == 0


def test_an_agent_allowed_the_network_reaches_it(workspace: Path, listener: Listener) -> None:
    sandbox = Sandbox(access=AgentAccess(network=True))

    result = run(CONNECT.format(port=listener.port), in_sandbox(workspace, sandbox))

    assert (result.output, result.is_error) == ("hello\n[exit code 0]", False)
    assert listener.accepted == 1


def escaping_grandchild(mark: str) -> str:
    """Starts a grandchild in a session of its own that would write late.txt in 600 s.

    `mark` is in its command line, unique to the test: other tests (and other test runs)
    on the machine start grandchildren of their own.
    """
    return f"setsid nohup sh -c 'sleep 600; echo {mark} > late.txt' > /dev/null 2>&1 &"


@pytest.fixture
def mark() -> str:
    return f"escaped-{uuid.uuid4().hex}"


def assert_no_process_left(marker: str) -> None:
    """No process whose command line holds `marker` is alive, on the host's /proc.

    The grandchild sleeps 600 s before it would write: had it escaped, it would still be
    there. Waiting for it to be gone (the kernel reaps a dead PID namespace shortly)
    is an event, not a window that a slow machine could outlast.
    """
    deadline = time.monotonic() + 60
    while True:
        left = [pid for pid, line in _command_lines() if marker in line]
        if not left:
            return
        assert time.monotonic() < deadline, f"still running: {left}"
        time.sleep(0.05)


def _command_lines() -> list[tuple[str, str]]:
    lines = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:  # gone while we looked
            continue
        lines.append((pid, raw.replace(b"\0", b" ").decode(errors="replace")))
    return lines


def test_a_setsid_grandchild_dies_with_the_timeout(workspace: Path, mark: str) -> None:
    command = f"{escaping_grandchild(mark)} echo started > started.txt; sleep 600"

    # Long enough for the sandbox to start it on a loaded machine.
    result = run(command, in_sandbox(workspace), timeout_seconds=5)

    assert (result.output, result.is_error) == (
        "[timed out after 5 seconds; the command and its child processes were killed]",
        True,
    )
    assert (workspace / "started.txt").read_text() == "started\n"
    assert_no_process_left(f"echo {mark} > late.txt")
    assert not (workspace / "late.txt").exists()


def test_a_setsid_grandchild_dies_when_the_command_returns(workspace: Path, mark: str) -> None:
    command = f"{escaping_grandchild(mark)} echo ok"

    result = run(command, in_sandbox(workspace))

    assert (result.output, result.is_error) == ("ok\n[exit code 0]", False)
    assert_no_process_left(f"echo {mark} > late.txt")
    assert not (workspace / "late.txt").exists()


def test_a_fork_bomb_is_bounded_and_the_next_command_runs(workspace: Path) -> None:
    context = in_sandbox(workspace, Sandbox(settings=SandboxSettings(max_processes=64)))

    bomb = run("bomb() { bomb | bomb; }; bomb", context, timeout_seconds=10)
    after = run("echo still here", context)

    # Shells dying with the sandbox may first say that a fork failed: only the end is exact.
    # As root the process watch kills it; otherwise RLIMIT_NPROC stops it until the timeout.
    end = (
        "[killed: more than 64 processes at once]"
        if os.geteuid() == 0
        else "[timed out after 10 seconds; the command and its child processes were killed]"
    )
    assert (bomb.output.splitlines()[-1], bomb.is_error) == (end, True)
    assert (after.output, after.is_error) == ("still here\n[exit code 0]", False)


def test_a_1_gb_write_stops_at_the_file_size_limit(workspace: Path) -> None:
    limit_bytes = 8 * 1024 * 1024
    context = in_sandbox(workspace, Sandbox(settings=SandboxSettings(file_size_bytes=limit_bytes)))

    result = run("head -c 1000000000 /dev/zero > big", context)

    assert (result.output, result.is_error) == (
        "/usr/bin/bash: line 1:     3 File size limit exceeded"
        "head -c 1000000000 /dev/zero > big\n"
        "[killed by signal SIGXFSZ: a file reached the limit of 8388608 bytes]",
        True,
    )
    assert (workspace / "big").stat().st_size == limit_bytes


def test_toolchains_under_tmp_stay_visible_read_only(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)

    binds = toolchains_in_tmp(f"/usr/bin:{venv / 'bin'}::/tmp", str(venv), "/usr")

    assert binds == ["--ro-bind", str(venv), str(venv), "--ro-bind", *[str(venv / "bin")] * 2]


def test_a_tool_under_tmp_runs_in_the_sandbox(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "hello-tool").write_text("#!/bin/sh\necho hello from /tmp\n")
    (tools / "hello-tool").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:{os.defpath}")

    result = run(f"hello-tool; touch {tools}/x", in_sandbox(workspace))

    assert (result.output, result.is_error) == (
        f"hello from /tmp\ntouch: cannot touch '{tools}/x': Read-only file system\n[exit code 1]",
        True,
    )


def test_an_import_path_under_tmp_stays_visible_read_only(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As an editable install's source in a clone under /tmp: on taskline's import path,
    # outside its environment, and needed by a server or check that imports it.
    source = tmp_path / "src"
    source.mkdir()
    (source / "greeting.py").write_text("print('hello from an editable install')\n")
    monkeypatch.setattr(sys, "path", [*sys.path, str(source)])

    result = run(f"python3 {source}/greeting.py; touch {source}/x", in_sandbox(workspace))

    assert (result.output, result.is_error) == (
        "hello from an editable install\n"
        f"touch: cannot touch '{source}/x': Read-only file system\n[exit code 1]",
        True,
    )
