"""How a stdio MCP server is started: its command line, in the sandbox, with only its variables.

    sandbox bubblewrap   sh (notes its pid) env -i bwrap … -- prlimit … -- SERVER ARGS
                         (for root, first moved into a pids cgroup of its own)
    sandbox none         sh (notes its pid) env -u … -- SERVER ARGS

Either way the server's environment is the sandbox's fixed one (PATH, HOME,
LANG, TERM, TMPDIR) plus the variables its `[mcp.NAME]` table names, nothing
else of taskline's: bwrap starts from an empty environment and sets the
server's with `--setenv`; unsandboxed, `env -u` drops what the SDK would pass on
by default (and what the shell noting its pid sets). Its working directory is the
task's workspace, and `{workspace}` in its command line is that directory's path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from mcp.client.stdio import DEFAULT_INHERITED_ENV_VARS, StdioServerParameters

from taskline.errors import McpServerError
from taskline.tools.mcp.config import WORKSPACE_PLACEHOLDER, McpServerConfig
from taskline.tools.pids_cgroup import PidsCgroup
from taskline.tools.sandbox import AgentAccess, Sandbox, SandboxUnavailableError


def server_sandbox(config: McpServerConfig, sandbox: Sandbox) -> Sandbox:
    """The agent's sandbox with the server's own access: its network, its variables, and
    the places its command line names under /tmp."""
    return replace(
        sandbox,
        access=AgentAccess(network=config.network, env=config.env),
        read_only=(*sandbox.read_only, *named_in_tmp(config.command or ())),
    )


def named_in_tmp(command: tuple[str, ...]) -> list[Path]:
    """Directories under /tmp that the command line names, itself or a file in it.

    The sandbox's /tmp is its own and empty, so a server script kept there (in a clone
    under /tmp, say) would not be found. What the user's own config names is shown back
    to the server, read-only; nothing else of /tmp, and never /tmp itself.
    """
    places: list[Path] = []
    for part in command:
        path = Path(part)
        if not path.is_absolute() or not path.exists():
            continue
        place = path.resolve() if path.is_dir() else path.resolve().parent
        if place.is_relative_to("/tmp") and place != Path("/tmp"):
            places.append(place)
    return list(dict.fromkeys(places))


# What the shell that notes the pid (`ProcessGroup.noting_pid`) sets of its own.
SHELL_SETS = ("PWD", "OLDPWD", "SHLVL", "_")


class ProcessGroup:
    """The process group of one start of a stdio server: the SDK starts the server's command
    in a session of its own, so the group's id is that process's pid, which its command line
    writes to a file (`noting_pid`) before it becomes the server, or bwrap."""

    def __init__(self) -> None:
        handle, name = tempfile.mkstemp(prefix="taskline-mcp-", suffix=".pid")
        os.close(handle)
        self.pid_file = Path(name)

    def noting_pid(self, argv: list[str]) -> list[str]:
        """`argv` behind a shell that writes its pid to the file, then becomes `argv`."""
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(self.pid_file), *argv]

    def kill(self) -> None:
        """SIGKILL every process of the group; nothing before its pid was written."""
        try:
            pgid = int(self.pid_file.read_text())
        except (OSError, ValueError):  # not written yet: what runs is the shell, alone
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):  # all gone already
            os.killpg(pgid, signal.SIGKILL)

    def forget(self) -> None:
        """Remove the file."""
        self.pid_file.unlink(missing_ok=True)


def stdio_parameters(
    server: str,
    config: McpServerConfig,
    workspace: Path,
    sandbox: Sandbox,
    group: ProcessGroup,
    cgroup: PidsCgroup | None = None,
) -> StdioServerParameters:
    """What the SDK's stdio transport starts, its pid noted for `group`; `McpServerError`
    when it cannot be started."""
    assert config.command is not None, "a stdio server has a command"
    parts = [part.replace(WORKSPACE_PLACEHOLDER, str(workspace)) for part in config.command]
    program = [executable(server, parts[0]), *parts[1:]]
    confined = server_sandbox(config, sandbox)
    env_program = shutil.which("env") or "/usr/bin/env"
    if confined.settings.mode == "none":
        environment = confined.environment(os.environ)
        passed_on = (*DEFAULT_INHERITED_ENV_VARS, *SHELL_SETS)
        dropped = [n for n in passed_on if n not in environment]
        unset = [arg for name in dropped for arg in ("-u", name)]
        argv = group.noting_pid([env_program, *unset, "--", *program])
        return StdioServerParameters(
            command=argv[0], args=argv[1:], env=environment, cwd=str(workspace)
        )
    try:
        wrapped = confined.wrap(workspace, program)
    except SandboxUnavailableError as exc:
        raise McpServerError(server, f"did not start: {exc}") from exc
    argv = cgroup.enter(wrapped) if cgroup is not None else [env_program, "-i", *wrapped]
    argv = group.noting_pid(argv)
    return StdioServerParameters(command=argv[0], args=argv[1:], cwd=str(workspace))


def executable(server: str, name: str) -> str:
    """`name` as a path to run: a path as given, else found on PATH or beside taskline's
    Python (where `pip install` put it, whether or not that environment is activated)."""
    if "/" in name:
        return name
    beside_python = str(Path(sys.executable).parent)
    found = shutil.which(name) or shutil.which(name, path=beside_python)
    if found is None:
        raise McpServerError(
            server, f"did not start: command {name!r} is not on PATH or in {beside_python}"
        )
    return found
