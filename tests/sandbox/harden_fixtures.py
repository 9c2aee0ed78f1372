"""Fixtures for the hardening tests: a workspace beside a directory the tools must not reach.

Every target is under the test's own temporary directory: if a check broke,
what it would damage is a file the test made, never a system file.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Any

import pytest

from taskline.tools import ToolContext, Workspace
from taskline.tools.beneath import openat2_supported

SECRET = "top secret\n"
AT_FDCWD = -100
RENAME_EXCHANGE = 2

OPENERS = ["openat2", "walk"]


def make_context(workspace_dir: Path, opener: str) -> ToolContext:
    """Tools in `workspace_dir` opening paths with `opener`: the kernel's openat2, or the walk."""
    if opener == "openat2" and not openat2_supported():
        pytest.skip("this kernel has no openat2")
    workspace = Workspace(workspace_dir, use_openat2=opener == "openat2")
    assert workspace.uses_openat2 is (opener == "openat2")
    return ToolContext(workspace=workspace)


def make_outside(tmp_path: Path) -> Path:
    """A directory beside the workspace, holding `secret.txt`."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    return outside


def exchange(first: Path, second: Path) -> None:
    """Swap two names atomically (renameat2 RENAME_EXCHANGE): each always exists."""
    libc = ctypes.CDLL(None, use_errno=True)
    done = libc.renameat2(
        AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE
    )
    if done != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(first))


def swap_while_tools_run(
    pairs: list[tuple[str, str]], tool_calls: Any, iterations: int, ready: Any
) -> None:
    """The attacker, in a process of its own: swap each pair of names over and over.

    One iteration lasts until the tools have made at least one more call, and
    the names keep flipping all the while, so every call meets the swap.
    """
    ready.set()
    for _ in range(iterations):
        seen = tool_calls.value
        while tool_calls.value == seen:
            for first, second in pairs:
                exchange(Path(first), Path(second))
    # Leave every pair as it was found, each odd flip undone.
    for first, second in pairs:
        if Path(first).is_symlink():
            exchange(Path(first), Path(second))
