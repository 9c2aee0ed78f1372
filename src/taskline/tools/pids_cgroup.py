"""A kernel-enforced process limit for a sandbox run by root: a pids cgroup of its own.

RLIMIT_NPROC is not enforced for root, and a watcher that counts a sandbox's
processes competes for the CPU with the fork bomb it should stop: on two busy
cores it may look too late, after the bomb took every process id of the
machine. So when taskline runs as root and a pids cgroup hierarchy is writable
(cgroup v1's `pids`, or v2 with the `pids` controller enabled), each sandboxed
command starts in a cgroup of its own whose `pids.max` is the limit: forks past
it fail inside that cgroup and nowhere else. Elsewhere (not root, no writable
hierarchy) nothing changes: RLIMIT_NPROC and the watcher remain.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

from taskline.ids import new_id

HIERARCHIES = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))
PARENT = "taskline"
REMOVE_ATTEMPTS = 200
REMOVE_PAUSE_SECONDS = 0.01
LEFTOVER_AGE_SECONDS = 3600.0


class PidsCgroup:
    """One command's cgroup, limited to `max_processes` processes and threads."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, max_processes: int) -> PidsCgroup | None:
        """A new cgroup with the limit, or None where none can be made (not root, no pids)."""
        base = _writable_hierarchy()
        if base is None:
            return None
        parent = base / PARENT
        _remove_leftovers(parent)
        path = parent / new_id()
        try:
            path.mkdir(parents=True)
            (path / "pids.max").write_text(str(max_processes))
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            return None
        return cls(path)

    def enter(self, argv: list[str]) -> list[str]:
        """`argv` behind a shell that moves itself into the cgroup and then becomes `argv`.

        The move happens before bwrap starts, so no process of the sandbox is ever
        outside the cgroup (moving bwrap from outside, after it started, would race
        with its first forks).
        """
        # `env -i`: the shell exports variables of its own (PWD), and what bwrap is started
        # with shows in the sandbox as /proc/1/environ, which must stay empty.
        move = 'echo $$ > "$0" && exec env -i "$@"'
        return ["/bin/sh", "-c", move, str(self.path / "cgroup.procs"), *argv]

    def limit_hit(self) -> bool:
        """Whether a fork in the cgroup was refused for the limit."""
        try:
            events = (self.path / "pids.events").read_text().split()
        except OSError:
            return False
        counts = dict(zip(events[::2], events[1::2], strict=False))
        return int(counts.get("max", "0")) > 0

    async def remove(self) -> None:
        """Kill what is left in the cgroup and remove it (processes take a moment to go)."""
        for _ in range(REMOVE_ATTEMPTS):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:  # busy: processes still exiting
                _kill_members(self.path)
                await asyncio.sleep(REMOVE_PAUSE_SECONDS)
        # Left behind empty or with a dying process: the next command removes it.


def _writable_hierarchy() -> Path | None:
    if os.geteuid() != 0:
        return None  # RLIMIT_NPROC holds for everyone else
    for base in HIERARCHIES:
        controllers = base / "cgroup.controllers"
        if controllers.exists():  # v2: the pids controller must be enabled for children
            subtree = base / "cgroup.subtree_control"
            with contextlib.suppress(OSError):
                if "pids" not in subtree.read_text().split():
                    continue
        elif not (base / "cgroup.procs").exists() or base.name != "pids":
            continue
        if os.access(base, os.W_OK):
            return base
    return None


def _remove_leftovers(parent: Path) -> None:
    """Remove cgroups that a command left behind (a crash, a process slow to die).

    Only old ones: a new one may be empty because its command is still starting.
    """
    now = time.time()
    with contextlib.suppress(OSError):
        for child in parent.iterdir():
            with contextlib.suppress(OSError):  # busy, or gone meanwhile
                if now - child.stat().st_mtime > LEFTOVER_AGE_SECONDS:
                    child.rmdir()


def _kill_members(path: Path) -> None:
    with contextlib.suppress(OSError):
        for pid in (path / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError, PermissionError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
