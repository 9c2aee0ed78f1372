"""Files only their owner may read: the data directory, the database, blobs and the API token.

`$TASKLINE_HOME` holds the API token and the database, whose rows hold every
prompt and tool output, so it is made 0700 and its files 0600. A directory
taskline makes is made so from the start; an existing `$TASKLINE_HOME` (or a
directory in it) owned by the current user but open to others — as older
versions left it — is tightened when taskline opens it. One owned by someone
else is left alone: taskline does not take over another user's directory.

Modes are set explicitly rather than through the umask, which is process-wide
and would race with the other threads of a server.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """`path` as a directory only its owner may enter: made 0700, or tightened to it."""
    missing = []
    for ancestor in (path, *path.parents):
        if ancestor.exists():
            break
        missing.append(ancestor)
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    # mkdir's mode passes through the umask, and parents get the default mode: set both.
    for made in missing:
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile: nothing to protect
            os.chmod(made, PRIVATE_DIR_MODE)
    _tighten(path, PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """`path` as a file only its owner may read: created empty at 0600 if missing, else tightened.

    Created before a library (SQLite) opens it, because SQLite gives a new
    database the default mode and its -wal and -shm files the database's mode.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        _tighten(path, PRIVATE_FILE_MODE)
    return path


def private_sqlite(database: str | None) -> None:
    """Make a SQLite database file 0600 before SQLite opens it; tighten its -wal and -shm.

    SQLite gives the -wal and -shm files it creates the database file's mode.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        private_file(path)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                _tighten(path.with_name(path.name + suffix), PRIVATE_FILE_MODE)
    except OSError:  # no such directory, no right to write: SQLite says so when it opens
        return


def _tighten(path: Path, mode: int) -> None:
    status = os.stat(path)
    if status.st_uid == os.getuid() and stat.S_IMODE(status.st_mode) & ~mode:
        os.chmod(path, stat.S_IMODE(status.st_mode) & mode)
