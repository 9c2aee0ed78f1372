"""No file tool reaches outside the workspace, however the path is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from taskline.errors import InvalidValueError
from taskline.tools import ToolContext, Workspace
from taskline.tools.base import BuiltinTool
from taskline.tools.files import EDIT_FILE, LIST_DIR, READ_FILE, WRITE_FILE
from tests.tools.helpers import call


@pytest.fixture
def links(workspace_dir: Path, outside_dir: Path) -> None:
    """Symlinks in the workspace: two to the outside, two that stay inside."""
    (workspace_dir / "real").mkdir()
    (workspace_dir / "real/a.txt").write_text("inside\n")
    (workspace_dir / "file_out").symlink_to(outside_dir / "secret.txt")
    (workspace_dir / "dir_out").symlink_to(outside_dir)
    (workspace_dir / "dangling_out").symlink_to(outside_dir / "new.txt")
    (workspace_dir / "file_in").symlink_to("real/a.txt")
    (workspace_dir / "dir_in").symlink_to("real")


# "{outside}" stands for the absolute path of the directory beside the workspace. Tools that
# write are never pointed at a system file: if the check broke, the test would destroy it.
ESCAPES = [
    "../x",
    "../outside/secret.txt",
    "{outside}/secret.txt",
    "a/../../x",
]
# File tools follow no symlink at all, wherever it points.
LINKED = [
    "file_out",
    "dir_out/secret.txt",
    "dir_out/new.txt",
    "dangling_out",
    "file_in",
    "dir_in/a.txt",
    "dir_in/b.txt",
]

TOOL_CALLS: list[tuple[BuiltinTool[Any], dict[str, str]]] = [
    (READ_FILE, {}),
    (WRITE_FILE, {"content": "pwned\n"}),
    (EDIT_FILE, {"old": "top secret", "new": "pwned"}),
    (LIST_DIR, {}),
]


@pytest.mark.usefixtures("links")
@pytest.mark.parametrize("path", ESCAPES)
@pytest.mark.parametrize(
    ("tool", "extra"), TOOL_CALLS, ids=lambda value: getattr(value, "name", "")
)
def test_a_path_outside_the_workspace_is_refused(
    tool: BuiltinTool[Any],
    extra: dict[str, str],
    path: str,
    context: ToolContext,
    outside_dir: Path,
) -> None:
    path = path.format(outside=outside_dir)
    result = call(tool, {"path": path, **extra}, context)

    assert (result.output, result.is_error) == (f"path '{path}' is outside the workspace", True)
    assert sorted(p.name for p in outside_dir.iterdir()) == ["secret.txt"]
    assert (outside_dir / "secret.txt").read_text() == "top secret\n"


@pytest.mark.parametrize("tool", [READ_FILE, LIST_DIR], ids=lambda tool: tool.name)
def test_a_system_file_is_refused(tool: BuiltinTool[Any], context: ToolContext) -> None:
    result = call(tool, {"path": "/etc/passwd"}, context)

    assert (result.output, result.is_error) == ("path '/etc/passwd' is outside the workspace", True)


@pytest.mark.usefixtures("links")
@pytest.mark.parametrize("path", LINKED)
@pytest.mark.parametrize(
    ("tool", "extra"), TOOL_CALLS, ids=lambda value: getattr(value, "name", "")
)
def test_a_path_through_a_symlink_is_refused(
    tool: BuiltinTool[Any],
    extra: dict[str, str],
    path: str,
    context: ToolContext,
    outside_dir: Path,
    workspace_dir: Path,
) -> None:
    result = call(tool, {"path": path, **extra}, context)

    assert (result.output, result.is_error) == (
        f"path '{path}' leads through a symbolic link, which file tools do not follow",
        True,
    )
    assert sorted(p.name for p in outside_dir.iterdir()) == ["secret.txt"]
    assert (outside_dir / "secret.txt").read_text() == "top secret\n"
    assert (workspace_dir / "real/a.txt").read_text() == "inside\n"
    assert not (workspace_dir / "real/b.txt").exists()


@pytest.mark.usefixtures("links")
@pytest.mark.parametrize("path", ["real/a.txt", "real/../real/a.txt", "./real/a.txt"])
def test_a_path_that_stays_inside_is_allowed(path: str, context: ToolContext) -> None:
    result = call(READ_FILE, {"path": path}, context)

    assert (result.output, result.is_error) == ("inside\n", False)


def test_an_absolute_path_inside_the_workspace_is_allowed(
    context: ToolContext, workspace_dir: Path
) -> None:
    (workspace_dir / "a.txt").write_text("hi\n")

    result = call(READ_FILE, {"path": str(workspace_dir / "a.txt")}, context)

    assert (result.output, result.is_error) == ("hi\n", False)


def test_a_symlink_loop_is_an_error(context: ToolContext, workspace_dir: Path) -> None:
    (workspace_dir / "loop").symlink_to("loop")

    result = call(READ_FILE, {"path": "loop"}, context)

    assert (result.output, result.is_error) == (
        "path 'loop' leads through a symbolic link, which file tools do not follow",
        True,
    )


def test_a_nul_character_in_a_path_is_an_error(context: ToolContext) -> None:
    result = call(READ_FILE, {"path": "a\x00b"}, context)

    assert (result.output, result.is_error) == ("path 'a\\x00b' is not a valid path", True)


def test_the_workspace_must_be_a_directory(tmp_path: Path) -> None:
    missing = tmp_path / "missing"

    with pytest.raises(InvalidValueError) as caught:
        Workspace(missing)

    assert str(caught.value) == f"workspace '{missing}' is not a directory"


def test_the_workspace_root_is_resolved(tmp_path: Path, workspace_dir: Path) -> None:
    (tmp_path / "alias").symlink_to(workspace_dir)

    assert Workspace(tmp_path / "alias").root == workspace_dir.resolve()
