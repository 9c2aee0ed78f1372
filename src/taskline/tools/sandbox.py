"""The sandbox every command an agent runs goes through: `run_command` and the task's checks.

On Linux the command runs under bubblewrap (`bwrap`):

    filesystem   everything read-only; the workspace read-write; a private /tmp
    hidden       $TASKLINE_HOME, the config file, the database, credential places
                 (~/.ssh, ~/.aws, …): an empty directory or an empty file in their place
    processes    a PID namespace of its own with a fresh /proc; when the command
                 ends or times out, everything it started dies with it
    network      none, unless the agent's config says `network = true`
    environment  PATH, HOME (a directory in the private /tmp), LANG, TERM, TMPDIR,
                 and only the variables the agent's config names in `env`
    limits       CPU seconds, memory, processes and file size, per command

bwrap itself starts from an empty environment: its first process is PID 1
inside the sandbox, and /proc/1/environ would show whatever it was given.

Where no sandbox can be made, commands are refused with a message saying how
to get one, unless `[sandbox] mode = "none"` says explicitly that they run
unsandboxed.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from taskline.records import SandboxMode

MIB = 1024 * 1024
GIB = 1024 * MIB

# Credential places beneath the user's home directory; a `*` matches as in a shell.
CREDENTIAL_PLACES = (
    ".ssh",
    ".aws",
    ".azure",
    ".kube",
    ".docker",
    ".gnupg",
    ".netrc",
    ".pypirc",
    ".npmrc",
    ".git-credentials",
    ".config/gcloud",
    ".config/gh",
    ".config/hub",
    ".config/git/credentials",
    ".config/op",
    ".config/doctl",
    ".password-store",
    ".cargo/credentials*",
    ".terraform.d/credentials.tfrc.json",
    ".local/share/keyrings",
    ".vault-token",
)
# Sockets of daemons that a command without network could still reach through the
# filesystem: the container runtime (root on the host), D-Bus, local databases.
DAEMON_SOCKETS = (
    "/run/docker.sock",
    "/run/containerd",
    "/run/podman",
    "/run/dbus",
    "/run/postgresql",
    "/run/mysqld",
    "/run/user",
)
# The command's home directory, inside the private /tmp.
SANDBOX_HOME = "/tmp/home"
# Nothing reads the terminal, so a pager would wait forever.
QUIET_ENVIRONMENT = {"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0"}
PASSED_ENVIRONMENT = ("PATH", "LANG")

HOW_TO_GET_ONE = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install"
    ' bubblewrap), or set mode = "none" in the [sandbox] table of taskline.toml to run'
    " commands unsandboxed"
)


class SandboxUnavailableError(Exception):
    """No sandbox can be made here; the message says how to get one."""


class SandboxSettings(BaseModel):
    """The `[sandbox]` table of taskline.toml: how commands and checks are confined."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    mode: SandboxMode = "bubblewrap"
    """`bubblewrap`, or `none` to run commands unsandboxed (every run records it)."""
    hide: tuple[str, ...] = ()
    """More paths to hide, besides $TASKLINE_HOME and the credential places; `~` is expanded."""
    expose: tuple[str, ...] = ()
    """Credential places (or `hide` entries) to leave visible, read-only; `~` is expanded."""
    cpu_seconds: int = Field(default=600, ge=1)
    """CPU time one process of a command may use."""
    memory_bytes: int = Field(default=8 * GIB, ge=64 * MIB)
    """Address space one process of a command may map."""
    max_processes: int = Field(default=512, ge=8)
    """Processes (and threads) one command may have at once."""
    file_size_bytes: int = Field(default=1 * GIB, ge=1)
    """Largest file a command may write."""


@dataclass(frozen=True)
class AgentAccess:
    """What one agent's commands may reach beyond the default: `[agents.NAME]` in the config."""

    network: bool = False
    """Whether its commands and its tasks' checks may use the network."""
    env: tuple[str, ...] = ()
    """Names of variables passed from taskline's environment into its commands."""


@dataclass(frozen=True)
class Sandbox:
    """Where one agent's commands run: the settings, what the agent may reach, what is hidden."""

    settings: SandboxSettings = field(default_factory=SandboxSettings)
    """The `[sandbox]` table."""
    access: AgentAccess = field(default_factory=AgentAccess)
    """Network and variables the agent's config grants."""
    private_paths: tuple[Path, ...] = ()
    """taskline's own files ($TASKLINE_HOME, the config file, the database): always hidden."""
    read_only: tuple[Path, ...] = ()
    """Directories commands may read even where the sandbox has its own (/tmp): the
    repository of a workspace that is a git worktree of it, as a task's `--copy` is."""

    def command_line(self, workspace: Path, command: str) -> list[str]:
        """The bwrap command line running `command` with bash in `workspace`.

        Raises `SandboxUnavailableError` saying how to get a sandbox when none can be made.
        """
        return self.wrap(workspace, [_bash(), "-c", command])

    def wrap(self, workspace: Path, program: Sequence[str]) -> list[str]:
        """The bwrap command line running `program` (an argv) in `workspace`, with the limits.

        Its environment is set by `--setenv`: start bwrap with an empty one (`env -i`),
        or whatever bwrap gets shows inside as /proc/1/environ. Start it in a session of
        its own (`start_new_session`) and stop it by killing that process group. Raises
        `SandboxUnavailableError` saying how to get a sandbox when none can be made.
        """
        bwrap = _bwrap()
        problem = sandbox_problem(bwrap)
        if problem is not None or bwrap is None:
            raise SandboxUnavailableError(
                f"commands and checks run only in a sandbox, but {problem}: {HOW_TO_GET_ONE}"
            )
        # No `--new-session`: in a session of its own the sandbox has no terminal to reach
        # (what the option is for) already. With it the sandbox left the process group, and
        # a stop that came before `--die-with-parent` took hold inside left it running.
        argv = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc"]
        if not self.access.network:
            argv.append("--unshare-net")
        argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        argv += toolchains_in_tmp(os.environ.get("PATH", ""), sys.prefix, *sys.path)
        for place in self.read_only:
            argv += ["--ro-bind", str(place), str(place)]
        # A hidden directory that holds the workspace is hidden before the workspace is
        # bound into it; one inside the workspace after, or the bind would show it again.
        hidden = self.hidden_paths()
        argv += _hide(p for p in hidden if workspace.is_relative_to(p))
        argv += ["--bind", str(workspace), str(workspace)]
        argv += _hide(p for p in hidden if not workspace.is_relative_to(p))
        argv += ["--dir", SANDBOX_HOME, "--chdir", str(workspace)]
        for name, value in self.environment(os.environ).items():
            argv += ["--setenv", name, value]
        return [*argv, "--", *self._limited(), *program]

    def environment(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The command's whole environment, taken from taskline's `environ`."""
        passed = {name: environ[name] for name in PASSED_ENVIRONMENT if name in environ}
        named = {name: environ[name] for name in self.access.env if name in environ}
        home = SANDBOX_HOME if self.settings.mode == "bubblewrap" else str(Path.home())
        fixed = {"HOME": home, "TERM": "dumb", "TMPDIR": "/tmp"}
        return {"PATH": os.defpath, "LANG": "C.UTF-8"} | passed | fixed | QUIET_ENVIRONMENT | named

    def hidden_paths(self) -> list[Path]:
        """The existing paths a sandboxed command finds empty, symlinks resolved."""
        home = Path.home()
        wanted = [*_expand(home, CREDENTIAL_PLACES), *map(Path, DAEMON_SOCKETS)]
        wanted += _expand(home, self.settings.hide)
        exposed = {_real(p) for p in _expand(home, self.settings.expose)}
        hidden = [_real(p) for p in wanted if p.exists() and _real(p) not in exposed]
        hidden += [_real(p) for p in self.private_paths if p.exists()]
        return list(dict.fromkeys(hidden))

    def _limited(self) -> list[str]:
        # Set inside the sandbox rather than on bwrap: bwrap made a user namespace by then
        # (when not root), so the process count is this command's, not all of the user's.
        limits = self.settings
        return [
            _prlimit(),
            f"--cpu={limits.cpu_seconds}",
            f"--as={limits.memory_bytes}",
            f"--nproc={limits.max_processes}",
            f"--fsize={limits.file_size_bytes}",
            "--",
        ]


def toolchains_in_tmp(path_variable: str, *prefixes: str) -> list[str]:
    """Read-only binds that keep toolchains under /tmp visible below the private /tmp.

    The sandbox's /tmp is empty, so a virtual environment or a tool that lives
    there (a clone in /tmp, as CI machines often make) would vanish from the
    commands' PATH: the Python taskline runs in and its import path (`prefixes`:
    an editable install's source lives outside the environment) and the PATH
    entries under /tmp are bound back, read-only. Nothing else of /tmp is.
    """
    wanted = [*prefixes, *(entry for entry in path_variable.split(os.pathsep) if entry)]
    binds: list[str] = []
    for place in dict.fromkeys(_real(Path(p)) for p in wanted):
        if place.is_relative_to("/tmp") and place != Path("/tmp") and place.is_dir():
            binds += ["--ro-bind", str(place), str(place)]
    return binds


def _hide(paths: Iterable[Path]) -> list[str]:
    argv: list[str] = []
    for path in paths:
        if path.is_dir():
            argv += ["--tmpfs", str(path)]
        else:
            argv += ["--ro-bind", "/dev/null", str(path)]
    return argv


def _expand(home: Path, patterns: Sequence[str]) -> list[Path]:
    paths: list[Path] = []
    for pattern in patterns:
        full = pattern.replace("~", str(home), 1) if pattern.startswith("~") else pattern
        if not os.path.isabs(full):
            full = str(home / full)
        paths += [Path(p) for p in glob.glob(full)] if "*" in full else [Path(full)]
    return paths


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _bwrap() -> str | None:
    return shutil.which("bwrap")


def _bash() -> str:
    return shutil.which("bash") or "/bin/sh"


def _prlimit() -> str:
    return shutil.which("prlimit") or "prlimit"


@functools.cache
def sandbox_problem(bwrap: str | None) -> str | None:
    """Why no sandbox can be made here, or None when bwrap works; tried once per process."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap does not run on {sys.platform}"
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    if shutil.which("prlimit") is None:
        return "prlimit (util-linux) is not installed"
    probe = [bwrap, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--proc", "/proc"]
    try:
        done = subprocess.run(  # noqa: S603 - a fixed command line
            [*probe, "--dev", "/dev", "--", "true"], env={}, capture_output=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap did not start: {exc}"
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        detail = reason[-1] if reason else f"exit code {done.returncode}"
        return f"bwrap cannot make one ({detail}; are user namespaces turned off?)"
    return None


@dataclass(frozen=True)
class SandboxPolicy:
    """The sandbox of each agent, from the config: the engine asks it per run."""

    settings: SandboxSettings = field(default_factory=SandboxSettings)
    """The `[sandbox]` table."""
    agents: Mapping[str, AgentAccess] = field(default_factory=dict)
    """Network and variables granted per agent name; absent agents get neither."""
    private_paths: tuple[Path, ...] = ()
    """taskline's own files, hidden from every command."""

    def for_agent(self, name: str) -> Sandbox:
        """The sandbox the commands and checks of agent `name` run in."""
        return Sandbox(
            settings=self.settings,
            access=self.agents.get(name, AgentAccess()),
            private_paths=self.private_paths,
        )
