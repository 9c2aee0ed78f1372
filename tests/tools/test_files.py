"""list_dir, read_file, write_file and edit_file: what they do and how they refuse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from taskline.tools import ToolContext, ToolResult, Workspace
from taskline.tools.files import EDIT_FILE, LIST_DIR, READ_FILE, WRITE_FILE
from tests.tools.helpers import call


def ok(output: str) -> tuple[str, bool]:
    return (output, False)


def error(output: str) -> tuple[str, bool]:
    return (output, True)


def outcome(result: ToolResult) -> tuple[str, bool]:
    return (result.output, result.is_error)


def test_write_file_creates_parent_directories(context: ToolContext, workspace_dir: Path) -> None:
    result = call(WRITE_FILE, {"path": "notes/today/a.txt", "content": "héllo\n"}, context)

    assert outcome(result) == ok("wrote 7 bytes to notes/today/a.txt")
    assert (workspace_dir / "notes/today/a.txt").read_bytes() == "héllo\n".encode()
    assert result.submission is None
    assert result.duration_ms >= 0


def test_write_file_overwrites(context: ToolContext, workspace_dir: Path) -> None:
    (workspace_dir / "a.txt").write_text("old content\n")

    result = call(WRITE_FILE, {"path": "a.txt", "content": "new"}, context)

    assert outcome(result) == ok("wrote 3 bytes to a.txt")
    assert (workspace_dir / "a.txt").read_text() == "new"


def test_write_file_under_a_file_is_an_error(context: ToolContext, workspace_dir: Path) -> None:
    (workspace_dir / "a.txt").write_text("x")

    result = call(WRITE_FILE, {"path": "a.txt/b.txt", "content": "y"}, context)

    assert outcome(result) == error("Not a directory: 'a.txt/b.txt'")


def test_read_file_returns_the_text(context: ToolContext, workspace_dir: Path) -> None:
    (workspace_dir / "a.txt").write_text("line 1\nline 2\n")

    assert outcome(call(READ_FILE, {"path": "a.txt"}, context)) == ok("line 1\nline 2\n")


def test_read_file_says_when_the_file_is_empty(context: ToolContext, workspace_dir: Path) -> None:
    (workspace_dir / "empty.txt").write_text("")

    assert outcome(call(READ_FILE, {"path": "empty.txt"}, context)) == ok("(empty file)")


def test_read_file_cuts_a_long_file_with_a_note(workspace_dir: Path) -> None:
    (workspace_dir / "long.txt").write_text("0123456789abcdef")
    context = ToolContext(workspace=Workspace(workspace_dir), max_output_bytes=10)

    assert outcome(call(READ_FILE, {"path": "long.txt"}, context)) == ok(
        "0123456789\n[read_file: showed the first 10 of 16 bytes;"
        " use run_command with sed, head or tail to read the rest]"
    )


def test_read_file_does_not_cut_a_character_in_half(workspace_dir: Path) -> None:
    (workspace_dir / "accent.txt").write_text("abcdéfg")  # é is two bytes: c3 a9
    context = ToolContext(workspace=Workspace(workspace_dir), max_output_bytes=5)

    assert outcome(call(READ_FILE, {"path": "accent.txt"}, context)) == ok(
        "abcd\n[read_file: showed the first 4 of 8 bytes;"
        " use run_command with sed, head or tail to read the rest]"
    )


@pytest.mark.parametrize(
    "content", [b"\x00\x01\x02", b"\xff\xfe not utf-8"], ids=["nul-bytes", "invalid-utf8"]
)
def test_read_file_refuses_binary_files(
    context: ToolContext, workspace_dir: Path, content: bytes
) -> None:
    (workspace_dir / "blob.bin").write_bytes(content)

    assert outcome(call(READ_FILE, {"path": "blob.bin"}, context)) == error(
        f"'blob.bin' is a binary file ({len(content)} bytes); only UTF-8 text can be read"
    )


def test_read_file_of_a_missing_file(context: ToolContext) -> None:
    assert outcome(call(READ_FILE, {"path": "missing.txt"}, context)) == error(
        "No such file or directory: 'missing.txt'"
    )


def test_read_file_of_a_directory(context: ToolContext, workspace_dir: Path) -> None:
    (workspace_dir / "notes").mkdir()

    assert outcome(call(READ_FILE, {"path": "notes"}, context)) == error(
        "'notes' is a directory; use list_dir to see what it holds"
    )


def test_read_file_refuses_a_fifo_instead_of_blocking(
    context: ToolContext, workspace_dir: Path
) -> None:
    os.mkfifo(workspace_dir / "pipe")

    assert outcome(call(READ_FILE, {"path": "pipe"}, context)) == error(
        "'pipe' is not a regular file"
    )


def test_list_dir_shows_directories_files_and_symlinks(
    context: ToolContext, workspace_dir: Path
) -> None:
    (workspace_dir / "src").mkdir()
    (workspace_dir / "README.md").write_text("# hi\n")
    (workspace_dir / "b.txt").write_text("")
    (workspace_dir / "link").symlink_to("b.txt")

    assert outcome(call(LIST_DIR, {}, context)) == ok(
        "README.md (5 bytes)\nb.txt (0 bytes)\nlink -> b.txt\nsrc/"
    )


def test_list_dir_of_a_subdirectory(context: ToolContext, workspace_dir: Path) -> None:
    (workspace_dir / "src/pkg").mkdir(parents=True)
    (workspace_dir / "src/main.py").write_text("print(1)\n")

    assert outcome(call(LIST_DIR, {"path": "src"}, context)) == ok("main.py (9 bytes)\npkg/")
    assert outcome(call(LIST_DIR, {"path": "src/pkg"}, context)) == ok("(empty directory)")


def test_list_dir_caps_a_huge_listing(workspace_dir: Path) -> None:
    for number in range(10):
        (workspace_dir / f"f{number}").write_text("")
    context = ToolContext(workspace=Workspace(workspace_dir), max_output_bytes=20)

    # ten lines of "fN (0 bytes)": 129 bytes, of which the first and last 10 are kept
    assert outcome(call(LIST_DIR, {}, context)) == ok(
        "f0 (0 byte\n[... 109 bytes cut ...]\n (0 bytes)"
    )


def test_list_dir_of_a_file(context: ToolContext, workspace_dir: Path) -> None:
    (workspace_dir / "a.txt").write_text("x")

    assert outcome(call(LIST_DIR, {"path": "a.txt"}, context)) == error("Not a directory: 'a.txt'")


def test_edit_file_replaces_the_one_occurrence(context: ToolContext, workspace_dir: Path) -> None:
    (workspace_dir / "app.py").write_text("def f():\n    return 1\n")

    result = call(EDIT_FILE, {"path": "app.py", "old": "return 1", "new": "return 2"}, context)

    assert outcome(result) == ok("edited app.py: replaced 1 occurrence")
    assert (workspace_dir / "app.py").read_text() == "def f():\n    return 2\n"


def test_edit_file_when_the_old_text_is_missing(context: ToolContext, workspace_dir: Path) -> None:
    (workspace_dir / "app.py").write_text("x = 1\n")

    result = call(EDIT_FILE, {"path": "app.py", "old": "y = 1", "new": "y = 2"}, context)

    assert outcome(result) == error("old text not found in app.py; the file was not changed")
    assert (workspace_dir / "app.py").read_text() == "x = 1\n"


def test_edit_file_when_the_old_text_occurs_more_than_once(
    context: ToolContext, workspace_dir: Path
) -> None:
    (workspace_dir / "app.py").write_text("x = 1\nx = 1\nx = 1\n")

    result = call(EDIT_FILE, {"path": "app.py", "old": "x = 1", "new": "x = 2"}, context)

    assert outcome(result) == error(
        "old text occurs 3 times in app.py; it must occur exactly once,"
        " so include more of the surrounding text; the file was not changed"
    )
    assert (workspace_dir / "app.py").read_text() == "x = 1\nx = 1\nx = 1\n"


def test_edit_file_refuses_a_binary_file(context: ToolContext, workspace_dir: Path) -> None:
    (workspace_dir / "blob.bin").write_bytes(b"a\x00b")

    result = call(EDIT_FILE, {"path": "blob.bin", "old": "a", "new": "b"}, context)

    assert outcome(result) == error(
        "'blob.bin' is a binary file (3 bytes); only UTF-8 text can be read"
    )
    assert (workspace_dir / "blob.bin").read_bytes() == b"a\x00b"
