"""The task's workspace: the one directory the file tools may touch."""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
from collections.abc import Iterator
from pathlib import Path

from taskline.errors import InvalidValueError
from taskline.tools.beneath import DIRECTORY_FLAGS, open_beneath, open_parent, openat2_supported
from taskline.tools.result import ToolFailure


class Workspace:
    """A directory, and the rule that paths given to tools stay inside it.

    A path is taken relative to the workspace. `..` that would climb out of it,
    and an absolute path elsewhere, are refused by their spelling; an absolute
    path that names a place inside the workspace is accepted. The path is then
    opened relative to the workspace's directory descriptor without following
    any symlink, at any component, whether it points outside or not: the
    kernel's `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` where it
    exists, else a walk that opens one component at a time with `O_NOFOLLOW`.
    Nothing is checked first and opened later, so swapping a directory for a
    symlink while a tool runs leads nowhere.

    `use_openat2=False` forces the walk (it is what runs on kernels before 5.6);
    `uses_openat2` says which one is in use.
    """

    def __init__(self, root: str | os.PathLike[str], *, use_openat2: bool = True) -> None:
        path = Path(root)
        if not path.is_dir():
            raise InvalidValueError(f"workspace {str(path)!r} is not a directory")
        self._root = path.resolve()
        self._use_openat2 = use_openat2 and openat2_supported()

    @property
    def root(self) -> Path:
        """The workspace directory, absolute and with symlinks resolved."""
        return self._root

    @property
    def uses_openat2(self) -> bool:
        """Whether paths are opened with `openat2` (else by the no-follow walk)."""
        return self._use_openat2

    def __repr__(self) -> str:
        return f"Workspace({str(self._root)!r})"

    def relative(self, path: str) -> str:
        """`path` as a clean path relative to the workspace (`.` for the workspace itself).

        Raises `ToolFailure` when it is spelled to be outside, or is no valid path.
        """
        if "\0" in path:
            raise ToolFailure(f"path {path!r} is not a valid path")
        if posixpath.isabs(path):
            absolute = posixpath.normpath(path)
            root = self._root.as_posix()
            if absolute != root and not absolute.startswith(root.rstrip("/") + "/"):
                raise ToolFailure(f"path {path!r} is outside the workspace")
            path = posixpath.relpath(absolute, root)
        clean = posixpath.normpath(path)
        if clean == ".." or clean.startswith("../"):
            raise ToolFailure(f"path {path!r} is outside the workspace")
        return clean

    @contextlib.contextmanager
    def open(
        self, path: str, flags: int, mode: int = 0o666, *, make_parents: bool = False
    ) -> Iterator[int]:
        """A descriptor for `path` opened with `flags`, closed when the block ends.

        With `make_parents`, missing parent directories are created (through
        directory descriptors too). A symlink on the way is a `ToolFailure`;
        other problems are `OSError`s naming `path`.
        """
        clean = self.relative(path)
        try:
            root_fd = os.open(self._root, DIRECTORY_FLAGS)
            try:
                fd = self._open_beneath(root_fd, clean, flags, mode, make_parents=make_parents)
            finally:
                os.close(root_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ToolFailure(
                    f"path {path!r} leads through a symbolic link, which file tools do not follow"
                ) from exc
            if exc.errno == errno.EXDEV:
                raise ToolFailure(f"path {path!r} is outside the workspace") from exc
            raise OSError(exc.errno, exc.strerror, path) from exc
        try:
            yield fd
        finally:
            os.close(fd)

    def _open_beneath(
        self, root_fd: int, clean: str, flags: int, mode: int, *, make_parents: bool
    ) -> int:
        directory, leaf = posixpath.split(clean)
        if not make_parents or not directory:
            return open_beneath(root_fd, clean, flags, mode, use_openat2=self._use_openat2)
        parent_fd = open_parent(root_fd, directory.split("/"), create=True)
        try:
            return open_beneath(parent_fd, leaf, flags, mode, use_openat2=self._use_openat2)
        finally:
            os.close(parent_fd)

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
