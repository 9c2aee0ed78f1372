"""The file tools never leave the workspace: not by `..`, an absolute path, a symlink at any
component, a hard link, or a symlink swapped in by another process while they work.

Each test runs twice: with the kernel's openat2 and with the no-follow walk that
older kernels get.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

from taskline.tools import ToolContext
from taskline.tools.base import BuiltinTool
from taskline.tools.files import EDIT_FILE, LIST_DIR, READ_FILE, WRITE_FILE
from tests.sandbox.harden_fixtures import (
    OPENERS,
    SECRET,
    make_context,
    make_outside,
    swap_while_tools_run,
)
from tests.tools.helpers import call

SWAP_ITERATIONS = 2_000
SWAP_DEADLINE_SECONDS = 300
LINK_REFUSAL = "path '{}' leads through a symbolic link, which file tools do not follow"
HARD_LINK_REFUSAL = (
    "'{}' has 2 hard links; file tools refuse a file with more than one,"
    " as another may be outside the workspace"
)
TOOLS: list[tuple[BuiltinTool[Any], dict[str, str]]] = [
    (READ_FILE, {}),
    (WRITE_FILE, {"content": "pwned\n"}),
    (EDIT_FILE, {"old": "top secret", "new": "pwned"}),
    (LIST_DIR, {}),
]
BY_NAME = pytest.mark.parametrize(
    ("tool", "extra"), TOOLS, ids=lambda value: getattr(value, "name", "")
)


@pytest.fixture(params=OPENERS)
def opener(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def workspace_dir(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    return make_outside(tmp_path)


@pytest.fixture
def context(workspace_dir: Path, opener: str) -> ToolContext:
    return make_context(workspace_dir, opener)


def untouched(outside: Path) -> bool:
    return sorted(p.name for p in outside.iterdir()) == ["secret.txt"] and (
        (outside / "secret.txt").read_text() == SECRET
    )


@BY_NAME
@pytest.mark.parametrize(
    "path", ["..", "../outside/secret.txt", "a/../../outside/secret.txt", "{outside}/secret.txt"]
)
def test_a_path_spelled_outside_is_refused(
    tool: BuiltinTool[Any], extra: dict[str, str], path: str, context: ToolContext, outside: Path
) -> None:
    path = path.format(outside=outside)

    result = call(tool, {"path": path, **extra}, context)

    assert (result.output, result.is_error) == (f"path '{path}' is outside the workspace", True)
    assert untouched(outside)


@BY_NAME
@pytest.mark.parametrize("path", ["link/secret.txt", "deep/er/link/secret.txt", "file"])
def test_a_symlink_at_any_component_is_refused(
    tool: BuiltinTool[Any],
    extra: dict[str, str],
    path: str,
    context: ToolContext,
    workspace_dir: Path,
    outside: Path,
) -> None:
    (workspace_dir / "link").symlink_to(outside)
    (workspace_dir / "deep/er").mkdir(parents=True)
    (workspace_dir / "deep/er/link").symlink_to(outside)
    (workspace_dir / "file").symlink_to(outside / "secret.txt")

    result = call(tool, {"path": path, **extra}, context)

    assert (result.output, result.is_error) == (LINK_REFUSAL.format(path), True)
    assert untouched(outside)


def test_creating_parent_directories_does_not_follow_a_symlink(
    context: ToolContext, workspace_dir: Path, outside: Path
) -> None:
    (workspace_dir / "made").mkdir()
    (workspace_dir / "made/link").symlink_to(outside)

    result = call(WRITE_FILE, {"path": "made/link/new/x.txt", "content": "x"}, context)

    assert (result.output, result.is_error) == (LINK_REFUSAL.format("made/link/new/x.txt"), True)
    assert untouched(outside)


def test_parent_directories_are_created_inside(context: ToolContext, workspace_dir: Path) -> None:
    result = call(WRITE_FILE, {"path": "a/b/c.txt", "content": "hi\n"}, context)

    assert (result.output, result.is_error) == ("wrote 3 bytes to a/b/c.txt", False)
    assert (workspace_dir / "a/b/c.txt").read_text() == "hi\n"


@pytest.mark.parametrize(("tool", "extra"), TOOLS[:3], ids=lambda value: getattr(value, "name", ""))
def test_a_hard_link_to_a_file_outside_is_refused(
    tool: BuiltinTool[Any],
    extra: dict[str, str],
    context: ToolContext,
    workspace_dir: Path,
    outside: Path,
) -> None:
    os.link(outside / "secret.txt", workspace_dir / "hard.txt")

    result = call(tool, {"path": "hard.txt", **extra}, context)

    assert (result.output, result.is_error) == (HARD_LINK_REFUSAL.format("hard.txt"), True)
    assert untouched(outside)


def test_a_symlink_swapped_in_by_another_process_never_leads_outside(
    context: ToolContext, workspace_dir: Path, outside: Path
) -> None:
    (workspace_dir / "d").mkdir()
    (workspace_dir / "d/secret.txt").write_text("inside\n")
    (workspace_dir / "alt").symlink_to(outside)
    (workspace_dir / "leaf.txt").write_text("leaf\n")
    (workspace_dir / "leaf-alt").symlink_to(outside / "secret.txt")
    pairs = [
        (str(workspace_dir / "d"), str(workspace_dir / "alt")),
        (str(workspace_dir / "leaf.txt"), str(workspace_dir / "leaf-alt")),
    ]
    spawn = multiprocessing.get_context("spawn")
    tool_calls = spawn.Value("q", 0)
    ready = spawn.Event()
    swapper = spawn.Process(
        target=swap_while_tools_run, args=(pairs, tool_calls, SWAP_ITERATIONS, ready)
    )
    swapper.start()
    outputs: dict[tuple[str, bool], int] = {}
    try:
        assert ready.wait(SWAP_DEADLINE_SECONDS)
        while swapper.is_alive():
            rounds: list[tuple[BuiltinTool[Any], dict[str, str]]] = [
                (READ_FILE, {"path": "d/secret.txt"}),
                (WRITE_FILE, {"path": "d/new.txt", "content": "x"}),
                (READ_FILE, {"path": "leaf.txt"}),
                (WRITE_FILE, {"path": "leaf.txt", "content": "leaf\n"}),
                (EDIT_FILE, {"path": "leaf.txt", "old": "leaf", "new": "leaf"}),
            ]
            for tool, arguments in rounds:
                result = call(tool, arguments, context)
                outputs[result.output, result.is_error] = 1 + outputs.get(
                    (result.output, result.is_error), 0
                )
            with tool_calls.get_lock():
                tool_calls.value += 1
    finally:
        swapper.join(SWAP_DEADLINE_SECONDS)
        if swapper.is_alive():
            swapper.kill()
    assert swapper.exitcode == 0
    assert tool_calls.value >= SWAP_ITERATIONS
    # Every call either worked inside or was refused for the link it met; nothing else.
    assert set(outputs) <= {
        ("inside\n", False),
        ("leaf\n", False),
        ("wrote 1 bytes to d/new.txt", False),
        ("wrote 5 bytes to leaf.txt", False),
        ("edited leaf.txt: replaced 1 occurrence", False),
        (LINK_REFUSAL.format("d/secret.txt"), True),
        (LINK_REFUSAL.format("d/new.txt"), True),
        (LINK_REFUSAL.format("leaf.txt"), True),
    }
    # The race was met: some calls found the link, some found the real thing.
    assert (LINK_REFUSAL.format("d/secret.txt"), True) in outputs
    assert ("inside\n", False) in outputs
    assert untouched(outside)
