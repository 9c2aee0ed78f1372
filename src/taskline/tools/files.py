"""The file tools: list_dir, read_file, write_file and edit_file.

Every path is relative to the workspace and is opened beneath it without
following links (see `Workspace`); a file with more than one hard link is
refused, since another of its names may be outside. Files are read and
written as UTF-8 text. The work is done on the event loop: these are single
small reads and writes, and the output cap bounds what is read.
"""

from __future__ import annotations

import codecs
import os
import stat

from pydantic import Field

from taskline.tools.base import Arguments, BuiltinTool, ToolContext
from taskline.tools.output import cap_text
from taskline.tools.result import ToolFailure

# A NUL byte in the first few kilobytes is the mark of a binary file, as git and grep judge it.
BINARY_SNIFF_BYTES = 8192
CHUNK_BYTES = 1 << 20
# O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused once opened.
READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK


class ListDirArguments(Arguments):
    path: str = Field(default=".", min_length=1)
    """Directory to list, relative to the workspace; `.` is the workspace itself."""


class ReadFileArguments(Arguments):
    path: str = Field(min_length=1)
    """File to read, relative to the workspace."""


class WriteFileArguments(Arguments):
    path: str = Field(min_length=1)
    """File to write, relative to the workspace; missing parent directories are created."""
    content: str
    """The whole new content of the file."""


class EditFileArguments(Arguments):
    path: str = Field(min_length=1)
    """File to edit, relative to the workspace."""
    old: str = Field(min_length=1)
    """Text to replace; it must occur exactly once in the file."""
    new: str
    """Text to put in its place."""


async def list_dir(args: ListDirArguments, context: ToolContext) -> str:
    lines = []
    with context.workspace.open(args.path, os.O_RDONLY | os.O_DIRECTORY) as fd:
        with os.scandir(fd) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                lines.append(_describe_entry(entry, fd))
    if not lines:
        return "(empty directory)"
    return cap_text("\n".join(lines), context.max_output_bytes)


def _describe_entry(entry: os.DirEntry[str], dir_fd: int) -> str:
    if entry.is_symlink():
        return f"{entry.name} -> {os.readlink(entry.name, dir_fd=dir_fd)}"
    if entry.is_dir(follow_symlinks=False):
        return f"{entry.name}/"
    return f"{entry.name} ({entry.stat(follow_symlinks=False).st_size} bytes)"


async def read_file(args: ReadFileArguments, context: ToolContext) -> str:
    limit = context.max_output_bytes
    with context.workspace.open(args.path, READ_FLAGS) as fd:
        size_bytes = _only_link(args.path, os.fstat(fd)).st_size
        data = _read_up_to(fd, limit)
    complete = len(data) >= size_bytes
    text = _decode_text(args.path, data, size_bytes, complete=complete)
    if complete:
        return text if text else "(empty file)"
    shown_bytes = len(text.encode("utf-8"))
    return (
        f"{text}\n[read_file: showed the first {shown_bytes} of {size_bytes} bytes;"
        " use run_command with sed, head or tail to read the rest]"
    )


async def write_file(args: WriteFileArguments, context: ToolContext) -> str:
    data = args.content.encode("utf-8")
    # Not O_TRUNC: a file linked from elsewhere must be refused before it is changed.
    flags = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK
    with context.workspace.open(args.path, flags, make_parents=True) as fd:
        _only_link(args.path, os.fstat(fd))
        os.ftruncate(fd, 0)
        _write_all(fd, data)
    return f"wrote {len(data)} bytes to {args.path}"


async def edit_file(args: EditFileArguments, context: ToolContext) -> str:
    with context.workspace.open(args.path, os.O_RDWR | os.O_NONBLOCK) as fd:
        size_bytes = _only_link(args.path, os.fstat(fd)).st_size
        data = _read_up_to(fd, size_bytes)
        text = _decode_text(args.path, data, len(data), complete=True)
        count = text.count(args.old)
        if count == 0:
            raise ToolFailure(f"old text not found in {args.path}; the file was not changed")
        if count > 1:
            raise ToolFailure(
                f"old text occurs {count} times in {args.path}; it must occur exactly once,"
                " so include more of the surrounding text; the file was not changed"
            )
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        _write_all(fd, text.replace(args.old, args.new, 1).encode("utf-8"))
    return f"edited {args.path}: replaced 1 occurrence"


def _only_link(given: str, status: os.stat_result) -> os.stat_result:
    """`status`, once it is known to be a regular file that no other path links to."""
    if stat.S_ISDIR(status.st_mode):
        raise ToolFailure(f"{given!r} is a directory; use list_dir to see what it holds")
    if not stat.S_ISREG(status.st_mode):
        # a FIFO or a device would block the read or never end
        raise ToolFailure(f"{given!r} is not a regular file")
    if status.st_nlink > 1:
        # Another name for the same file may be outside the workspace (a hard link to a
        # secret), and nothing cheap tells where it is: refuse rather than read or write it.
        raise ToolFailure(
            f"{given!r} has {status.st_nlink} hard links; file tools refuse a file with"
            " more than one, as another may be outside the workspace"
        )
    return status


def _read_up_to(fd: int, limit_bytes: int) -> bytes:
    chunks = []
    remaining = limit_bytes
    while remaining > 0:
        chunk = os.read(fd, min(remaining, CHUNK_BYTES))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _decode_text(given: str, data: bytes, size_bytes: int, *, complete: bool) -> str:
    refusal = f"{given!r} is a binary file ({size_bytes} bytes); only UTF-8 text can be read"
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        raise ToolFailure(refusal)
    try:
        # when the read stopped early it may have stopped inside a character: keep it back
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=complete)
    except UnicodeDecodeError as exc:
        raise ToolFailure(refusal) from exc


LIST_DIR = BuiltinTool(
    name="list_dir",
    description=(
        "List a directory of the workspace: subdirectories end with '/', files show their"
        " size, symlinks show their target (file tools do not follow them)."
    ),
    arguments=ListDirArguments,
    execute=list_dir,
)
READ_FILE = BuiltinTool(
    name="read_file",
    description="Read a UTF-8 text file of the workspace; a long file is cut with a note.",
    arguments=ReadFileArguments,
    execute=read_file,
)
WRITE_FILE = BuiltinTool(
    name="write_file",
    description=(
        "Create or overwrite a file of the workspace with the given text, creating missing"
        " parent directories."
    ),
    arguments=WriteFileArguments,
    execute=write_file,
)
EDIT_FILE = BuiltinTool(
    name="edit_file",
    description=(
        "Replace one exact piece of text in a file of the workspace. The old text must occur"
        " exactly once; include enough surrounding text to make it unique."
    ),
    arguments=EditFileArguments,
    execute=edit_file,
)
