"""The task's workspace: the one directory the file tools may touch."""

from __future__ import annotations

import os
from pathlib import Path

from taskline.errors import InvalidValueError
from taskline.tools.base import ToolFailure


class Workspace:
    """A directory, and the rule that paths given to tools stay inside it.

    A path is taken relative to the workspace and resolved, symlinks included;
    if the result is not inside the workspace it is refused. So `../x`,
    `/etc/passwd`, `a/../../x` and a symlink (or a symlinked directory on the
    way) that points outside are refused, while a symlink that points
    elsewhere inside the workspace is followed. An absolute path that names a
    place inside the workspace is accepted.

    This keeps the file tools honest; it is not a sandbox. `run_command` runs
    in the workspace directory but a shell can reach anything its user can.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        path = Path(root)
        if not path.is_dir():
            raise InvalidValueError(f"workspace {str(path)!r} is not a directory")
        self._root = path.resolve()

    @property
    def root(self) -> Path:
        """The workspace directory, absolute and with symlinks resolved."""
        return self._root

    def __repr__(self) -> str:
        return f"Workspace({str(self._root)!r})"

    def resolve(self, path: str) -> Path:
        """The absolute location of `path`; raises `ToolFailure` when it is outside."""
        try:
            resolved = (self._root / path).resolve()
        except RuntimeError as exc:
            # Python 3.11 reports a symlink loop this way; later versions leave it to the
            # open, which fails with ELOOP: say the same thing either way.
            raise ToolFailure(f"Too many levels of symbolic links: {path!r}") from exc
        except (OSError, ValueError) as exc:  # ValueError: a NUL character in the path
            raise ToolFailure(f"path {path!r} is not a valid path") from exc
        if not resolved.is_relative_to(self._root):
            raise ToolFailure(f"path {path!r} is outside the workspace")
        return resolved

    def display(self, path: str | os.PathLike[str] | bytes | int) -> str:
        """`path` as the model should see it: relative to the workspace when inside it."""
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        elif isinstance(path, int):  # an OSError may carry a file descriptor
            return f"fd {path}"
        absolute = Path(path)
        if absolute.is_relative_to(self._root):
            return absolute.relative_to(self._root).as_posix()
        return str(path)
