"""A workspace with a directory beside it that the tools must not reach."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskline.tools import ToolContext, Workspace


@pytest.fixture
def workspace_dir(tmp_path: Path) -> Path:
    """An empty workspace directory."""
    path = tmp_path / "workspace"
    path.mkdir()
    return path


@pytest.fixture
def outside_dir(tmp_path: Path) -> Path:
    """A directory next to the workspace, holding `secret.txt`."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text("top secret\n")
    return path


@pytest.fixture
def context(workspace_dir: Path) -> ToolContext:
    """Tools working in `workspace_dir`, with the default limits."""
    return ToolContext(workspace=Workspace(workspace_dir))
