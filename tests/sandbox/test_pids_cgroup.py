"""The kernel's process limit for root's sandboxes: a pids cgroup per command."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from taskline.tools.pids_cgroup import PidsCgroup


@pytest.fixture
def cgroup() -> PidsCgroup:
    made = PidsCgroup.create(8)
    if made is None:
        pytest.skip("not root, or no writable pids cgroup: RLIMIT_NPROC is the limit here")
    return made


# Forks 20 children that wait, counts those that could be made, then ends them all.
FORKER = """
import os, signal, sys
children = []
for _ in range(20):
    try:
        pid = os.fork()
    except OSError as exc:  # EAGAIN: the cgroup is full
        print("refused:", exc.strerror)
        break
    if pid == 0:
        signal.pause()
        os._exit(0)
    children.append(pid)
print("forked:", len(children))
for pid in children:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
"""


def test_forks_past_the_limit_fail_inside_the_cgroup_only(cgroup: PidsCgroup) -> None:
    done = subprocess.run(
        cgroup.enter([sys.executable, "-c", FORKER]),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # the forker itself and 7 children: 8 in all
    assert done.stdout == "refused: Resource temporarily unavailable\nforked: 7\n"
    assert cgroup.limit_hit()
    # The same forks outside the cgroup work: nothing else on the machine is starved.
    outside = subprocess.run([sys.executable, "-c", FORKER], capture_output=True, text=True)
    assert outside.stdout == "forked: 20\n"

    asyncio.run(cgroup.remove())

    assert not cgroup.path.exists()


def test_a_cgroup_nothing_hit_says_so(cgroup: PidsCgroup) -> None:
    done = subprocess.run(cgroup.enter(["true"]), timeout=60, check=False)

    assert (done.returncode, cgroup.limit_hit()) == (0, False)
    asyncio.run(cgroup.remove())
    assert not cgroup.path.exists()
