"""What a run changed in its workspace: snapshots, their difference, and text diffs.

The engine takes a snapshot before the agent starts and another when it
stops; `diff` of the two is the run's artifacts. Given a `BlobStore`, a
snapshot also keeps the contents of the files it saw, so that a changed text
file can later be shown as a unified diff (`text_diff`).
"""

from __future__ import annotations

import difflib
import hashlib
import os
import stat
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from taskline.engine.blobs import CHUNK_BYTES, BlobStore
from taskline.engine.ignore import IgnoreRules
from taskline.errors import NotFoundError
from taskline.records import ChangeKind

# Contents are kept for files up to this size: sources and reports, not data sets or builds.
DEFAULT_MAX_KEPT_BYTES = 10 * 1024 * 1024


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class FileState(_Frozen):
    """One regular file as a snapshot saw it."""

    size_bytes: int = Field(ge=0)
    """Size of the file."""
    sha256: str
    """sha256 of its contents, as 64 lowercase hex digits."""
    kept: bool = False
    """Whether its contents are in the blob store, under `sha256`."""
    modified_ns: int | None = None
    """Its modification time, so that a later snapshot can trust an unchanged file's hash."""


class Snapshot(_Frozen):
    """Every regular file of a workspace at one moment, by path relative to the workspace."""

    files: dict[str, FileState] = {}
    """Files by relative POSIX path, e.g. `src/app.py`; `.git` contents and symlinks left out."""
    unreadable: tuple[str, ...] = ()
    """Relative paths of files and directories that could not be read, and so are missing."""
    taken_at_ns: int = 0
    """When the snapshot started, on the clock of file modification times."""


class ArtifactChange(_Frozen):
    """A file the run created, modified or deleted."""

    path: str
    """Path relative to the workspace, POSIX style."""
    change: ChangeKind
    """`created`, `modified` or `deleted`."""
    size_bytes: int = Field(ge=0)
    """Size of the file now; for a deleted file, its size before."""
    sha256: str
    """sha256 of the contents now; for a deleted file, of the contents before."""
    previous_size_bytes: int | None = None
    """For a modified file, its size before."""
    previous_sha256: str | None = None
    """For a modified file, the sha256 of its contents before."""


def snapshot(
    workspace_root: str | os.PathLike[str],
    blobs: BlobStore | None = None,
    *,
    max_kept_bytes: int = DEFAULT_MAX_KEPT_BYTES,
    ignore: Sequence[str] = (),
    previous: Snapshot | None = None,
) -> Snapshot:
    """Every regular file under `workspace_root` that is work, not noise: its size and sha256.

    Noise is what `.gitignore` files, the built-in list (caches, environments,
    `.git`) and the `ignore` patterns say (see `taskline.engine.ignore`). With
    `blobs`, the contents of each file up to `max_kept_bytes` are kept there
    too. Given the `previous` snapshot, a file whose size and modification time
    are unchanged since then is not read again. Symlinks are not followed and
    not recorded; the blob store, should it be inside the workspace, is skipped.
    """
    root = Path(workspace_root)
    if not root.is_dir():
        raise NotFoundError("workspace directory", str(root))
    root = root.resolve()
    taken_at_ns = time.time_ns()
    # A blob store inside the workspace would record its own blobs as the run's work.
    blob_root = None if blobs is None else blobs.root.resolve()
    rules = IgnoreRules(root, ignore)
    known = _Known(previous)
    files: dict[str, FileState] = {}
    unreadable: list[str] = []

    def note_unreadable(error: OSError) -> None:
        unreadable.append(Path(error.filename).relative_to(root).as_posix())

    # followlinks=False (the default): a symlinked directory is listed, never entered.
    for directory, subdirectories, names in os.walk(root, onerror=note_unreadable):
        relative = Path(directory).relative_to(root).as_posix()
        relative_dir = "" if relative == "." else f"{relative}/"
        rules.enter(relative_dir)
        subdirectories[:] = sorted(
            name
            for name in subdirectories
            if not rules.ignored(relative_dir, name, is_dir=True)
            and Path(directory, name) != blob_root
        )
        for name in sorted(names):
            if rules.ignored(relative_dir, name, is_dir=False):
                continue
            relative = f"{relative_dir}{name}"
            try:
                state = _file_state(Path(directory, name), blobs, max_kept_bytes, known[relative])
            except FileNotFoundError:
                continue  # deleted while we walked
            except OSError:
                unreadable.append(relative)
                continue
            if state is not None:
                files[relative] = state
    return Snapshot(files=files, unreadable=tuple(sorted(unreadable)), taken_at_ns=taken_at_ns)


class _Known:
    """What the previous snapshot saw, where it can be trusted without reading the file."""

    def __init__(self, previous: Snapshot | None) -> None:
        self._files = {} if previous is None else previous.files
        self._taken_at_ns = 0 if previous is None else previous.taken_at_ns

    def __getitem__(self, relative: str) -> FileState | None:
        state = self._files.get(relative)
        # A file modified in the tick the previous snapshot began may have changed again
        # after it was read, within the same tick: only older times are trusted (git's
        # "racy" entries).
        if state is None or state.modified_ns is None or state.modified_ns >= self._taken_at_ns:
            return None
        return state


def _file_state(
    path: Path, blobs: BlobStore | None, max_kept_bytes: int, known: FileState | None
) -> FileState | None:
    status = path.lstat()
    if not stat.S_ISREG(status.st_mode):
        return None
    if (
        known is not None
        and (known.size_bytes, known.modified_ns) == (status.st_size, status.st_mtime_ns)
        and (known.kept or blobs is None or status.st_size > max_kept_bytes)
    ):
        return known
    if blobs is not None and status.st_size <= max_kept_bytes:
        sha256 = blobs.put(path)
        return FileState(
            size_bytes=status.st_size, sha256=sha256, kept=True, modified_ns=status.st_mtime_ns
        )
    return FileState(
        size_bytes=status.st_size, sha256=sha256_of(path), modified_ns=status.st_mtime_ns
    )


def sha256_of(path: Path) -> str:
    """The sha256 of a file's contents, as a snapshot records it."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def diff(before: Snapshot, after: Snapshot) -> list[ArtifactChange]:
    """The files created, modified and deleted between `before` and `after`, sorted by path."""
    changes = (
        _change(path, before.files.get(path), after.files.get(path))
        for path in sorted(before.files.keys() | after.files.keys())
    )
    return [change for change in changes if change is not None]


def _change(path: str, old: FileState | None, new: FileState | None) -> ArtifactChange | None:
    if old is None and new is not None:
        return ArtifactChange(
            path=path, change="created", size_bytes=new.size_bytes, sha256=new.sha256
        )
    if new is None and old is not None:
        return ArtifactChange(
            path=path, change="deleted", size_bytes=old.size_bytes, sha256=old.sha256
        )
    if old is not None and new is not None and old.sha256 != new.sha256:
        return ArtifactChange(
            path=path,
            change="modified",
            size_bytes=new.size_bytes,
            sha256=new.sha256,
            previous_size_bytes=old.size_bytes,
            previous_sha256=old.sha256,
        )
    return None


def text_diff(change: ArtifactChange, blobs: BlobStore) -> str | None:
    """`change` as a unified diff, the way `git diff` shows one.

    None when the contents of a side were not kept (the file was too large, or
    the snapshot had no blob store) or are not UTF-8 text.
    """
    old_sha256 = {
        "created": None,
        "modified": change.previous_sha256,
        "deleted": change.sha256,
    }[change.change]
    new_sha256 = None if change.change == "deleted" else change.sha256
    before = "" if old_sha256 is None else _kept_text(blobs, old_sha256)
    after = "" if new_sha256 is None else _kept_text(blobs, new_sha256)
    if before is None or after is None:
        return None
    lines = difflib.unified_diff(
        _lines(before),
        _lines(after),
        fromfile="/dev/null" if old_sha256 is None else f"a/{change.path}",
        tofile="/dev/null" if new_sha256 is None else f"b/{change.path}",
    )
    return "".join(
        line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in lines
    )


def _kept_text(blobs: BlobStore, sha256: str) -> str | None:
    if not blobs.has(sha256):
        return None
    data = blobs.get(sha256)
    if b"\0" in data:  # valid UTF-8, but a NUL byte marks a binary file, as git judges it
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _lines(text: str) -> list[str]:
    # Only "\n" ends a line, as for diff and git; str.splitlines also splits at "\f" and more.
    lines = [f"{line}\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]
