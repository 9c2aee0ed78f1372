"""Counting a sandbox's processes where the kernel will not: when taskline runs as root.

The process limit of a sandboxed command is RLIMIT_NPROC, set inside the
sandbox. The kernel does not enforce it for root (real uid 0), so a fork bomb
run by root would be bounded by nothing but the timeout, while it starves the
whole machine of process ids. For root, a pids cgroup of the command's own
holds the limit where one can be made (`taskline.tools.pids_cgroup`), and this
watch ends the command once the cgroup refused a fork. Where no cgroup can be
made, the sandbox's processes are counted instead, in the /proc of its own PID
namespace, and the sandbox is killed as soon as they exceed the limit; that
count races with the bomb for the CPU, so it is the fallback, not the rule.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from taskline.tools.pids_cgroup import PidsCgroup
from taskline.tools.sandbox import Sandbox

POLL_SECONDS = 0.02


class ProcessWatch:
    """Watches the sandbox started as process `pid`, when the kernel does not limit it."""

    def __init__(self, pid: int, sandbox: Sandbox, cgroup: PidsCgroup | None = None) -> None:
        self._pid = pid
        self._most = sandbox.settings.max_processes
        self._cgroup = cgroup
        self._needed = sandbox.settings.mode == "bubblewrap" and os.geteuid() == 0
        self.exceeded = False
        """Whether the sandbox was killed for having too many processes."""

    async def run(self, kill: Callable[[], None]) -> None:
        """Call `kill` once the sandbox holds more processes than allowed; runs until cancelled."""
        if not self._needed:
            return
        while True:
            await asyncio.sleep(POLL_SECONDS)
            # With a cgroup the kernel holds the limit; the watch only ends the command.
            if self._cgroup.limit_hit() if self._cgroup else self.count() > self._most:
                self.exceeded = True
                kill()
                return

    def count(self) -> int:
        """Processes in the sandbox's PID namespace now; 0 before it is made or once it is gone."""
        try:
            # bwrap's one child is the sandbox's PID 1, the first process of its namespace.
            children = Path(f"/proc/{self._pid}/task/{self._pid}/children").read_text().split()
            namespace = os.readlink(f"/proc/{children[0]}/ns/pid") if children else None
        except OSError:  # bwrap is gone: so is the sandbox
            return 0
        if namespace is None:
            return 0
        # The host's /proc, not the sandbox's: that one is not mounted yet while bwrap sets up.
        count = 0
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                count += os.readlink(f"/proc/{name}/ns/pid") == namespace
            except OSError:  # gone while we looked
                continue
        return count
