"""The file tools: list_dir, read_file, write_file and edit_file.

Every path is relative to the workspace and may not leave it (see
`Workspace.resolve`). Files are read and written as UTF-8 text. The work is
done on the event loop: these are single small reads and writes, and the
output cap bounds what is read.
"""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path

from pydantic import Field

from taskline.tools.base import Arguments, BuiltinTool, ToolContext, ToolFailure
from taskline.tools.output import cap_text

# A NUL byte in the first few kilobytes is the mark of a binary file, as git and grep judge it.
BINARY_SNIFF_BYTES = 8192


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
    directory = context.workspace.resolve(args.path)
    lines = []
    with os.scandir(directory) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.is_symlink():
                lines.append(f"{entry.name} -> {os.readlink(entry.path)}")
            elif entry.is_dir():
                lines.append(f"{entry.name}/")
            else:
                lines.append(f"{entry.name} ({entry.stat().st_size} bytes)")
    if not lines:
        return "(empty directory)"
    return cap_text("\n".join(lines), context.max_output_bytes)


async def read_file(args: ReadFileArguments, context: ToolContext) -> str:
    path = _regular_file(args.path, context)
    limit = context.max_output_bytes
    with path.open("rb") as file:
        size_bytes = os.fstat(file.fileno()).st_size
        data = file.read(limit)
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
    path = context.workspace.resolve(args.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = args.content.encode("utf-8")
    path.write_bytes(data)
    return f"wrote {len(data)} bytes to {args.path}"


async def edit_file(args: EditFileArguments, context: ToolContext) -> str:
    path = _regular_file(args.path, context)
    data = path.read_bytes()
    text = _decode_text(args.path, data, len(data), complete=True)
    count = text.count(args.old)
    if count == 0:
        raise ToolFailure(f"old text not found in {args.path}; the file was not changed")
    if count > 1:
        raise ToolFailure(
            f"old text occurs {count} times in {args.path}; it must occur exactly once,"
            " so include more of the surrounding text; the file was not changed"
        )
    path.write_bytes(text.replace(args.old, args.new, 1).encode("utf-8"))
    return f"edited {args.path}: replaced 1 occurrence"


def _regular_file(given: str, context: ToolContext) -> Path:
    path = context.workspace.resolve(given)
    mode = path.stat().st_mode
    if stat.S_ISDIR(mode):
        raise ToolFailure(f"{given!r} is a directory; use list_dir to see what it holds")
    if not stat.S_ISREG(mode):
        # a FIFO or a device would block the read or never end
        raise ToolFailure(f"{given!r} is not a regular file")
    return path


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
        " size, symlinks show their target."
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
