"""Snapshots of a workspace, what changed between two, and changes shown as text diffs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from taskline.engine.artifacts import (
    ArtifactChange,
    FileState,
    Snapshot,
    diff,
    snapshot,
    text_diff,
)
from taskline.engine.blobs import BlobStore
from taskline.errors import NotFoundError

# sha256 of the contents used below
HELLO = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"  # "hello\n"
HELLO_WORLD = "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447"  # "hello world\n"
LINES_BEFORE = (
    "9060554863a62b9db5f726216876654e561896071d2e6480f2048b70e0fdadb9"  # "line 1\nline 2\n"
)
LINES_AFTER = (
    "1b6cc7dfe88c0041ffe6d0242e11f0d3d23d218e676ab36cf608395b5fc177db"  # "line 1\nline two\n"
)
BYE = "b49f425a7e1f9cff3856329ada223f2f9d368f15a00cf48df16ca95986137fe8"  # "bye"
BINARY = "b413f47d13ee2fe6c845b2ee141af81de858df4ec549a58b7970bb96645bc8d2"  # b"\x00\x01"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace as a run finds it, with git's files, symlinks and a link to the outside."""
    root = tmp_path / "workspace"
    (root / ".git/objects").mkdir(parents=True)
    (root / ".git/config").write_text("[core]\n")
    (root / ".git/objects/ab").write_bytes(b"object")
    (root / "sub").mkdir()
    (root / "sub/.git").write_text("gitdir: ../.git/modules/sub\n")
    (root / "keep.txt").write_text("hello\n")
    (root / "change.txt").write_text("line 1\nline 2\n")
    (root / "gone.txt").write_text("bye")
    (root / "link.txt").symlink_to("keep.txt")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret\n")
    (root / "outside_link").symlink_to(outside)
    return root


def work(root: Path) -> None:
    """What the agent does: one file changed, one deleted, two created."""
    (root / "change.txt").write_text("line 1\nline two\n")
    (root / "gone.txt").unlink()
    (root / "new").mkdir()
    (root / "new/made.txt").write_text("hello world\n")
    (root / "bin.dat").write_bytes(b"\x00\x01")
    (root / ".git/config").write_text("[core]\n\tbare = false\n")


def without_times(taken: Snapshot) -> Snapshot:
    """`taken` without its clock readings, which no test can know in advance."""
    files = {
        path: state.model_copy(update={"modified_ns": None}) for path, state in taken.files.items()
    }
    return taken.model_copy(update={"files": files, "taken_at_ns": 0})


def test_snapshot_records_regular_files_only(workspace: Path) -> None:
    taken = snapshot(workspace)

    assert without_times(taken) == Snapshot(
        files={
            "change.txt": FileState(size_bytes=14, sha256=LINES_BEFORE),
            "gone.txt": FileState(size_bytes=3, sha256=BYE),
            "keep.txt": FileState(size_bytes=6, sha256=HELLO),
        }
    )
    assert taken.files["keep.txt"].modified_ns == (workspace / "keep.txt").stat().st_mtime_ns


def test_diff_lists_created_modified_and_deleted_files_by_path(workspace: Path) -> None:
    before = snapshot(workspace)
    work(workspace)

    assert diff(before, snapshot(workspace)) == [
        ArtifactChange(path="bin.dat", change="created", size_bytes=2, sha256=BINARY),
        ArtifactChange(
            path="change.txt",
            change="modified",
            size_bytes=16,
            sha256=LINES_AFTER,
            previous_size_bytes=14,
            previous_sha256=LINES_BEFORE,
        ),
        ArtifactChange(path="gone.txt", change="deleted", size_bytes=3, sha256=BYE),
        ArtifactChange(path="new/made.txt", change="created", size_bytes=12, sha256=HELLO_WORLD),
    ]


def test_no_change_no_artifacts(workspace: Path) -> None:
    assert diff(snapshot(workspace), snapshot(workspace)) == []


def test_a_snapshot_with_a_blob_store_keeps_the_contents(workspace: Path, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")

    taken = snapshot(workspace, blobs, max_kept_bytes=10)

    assert without_times(taken).files == {
        "change.txt": FileState(size_bytes=14, sha256=LINES_BEFORE, kept=False),
        "gone.txt": FileState(size_bytes=3, sha256=BYE, kept=True),
        "keep.txt": FileState(size_bytes=6, sha256=HELLO, kept=True),
    }
    assert (blobs.get(BYE), blobs.get(HELLO)) == (b"bye", b"hello\n")
    assert not blobs.has(LINES_BEFORE)


def test_changes_shown_as_text_diffs(workspace: Path, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    before = snapshot(workspace, blobs)
    work(workspace)
    changes = {change.path: change for change in diff(before, snapshot(workspace, blobs))}

    assert text_diff(changes["change.txt"], blobs) == (
        "--- a/change.txt\n+++ b/change.txt\n@@ -1,2 +1,2 @@\n line 1\n-line 2\n+line two\n"
    )
    assert text_diff(changes["new/made.txt"], blobs) == (
        "--- /dev/null\n+++ b/new/made.txt\n@@ -0,0 +1 @@\n+hello world\n"
    )
    assert text_diff(changes["gone.txt"], blobs) == (
        "--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n\\ No newline at end of file\n"
    )
    assert text_diff(changes["bin.dat"], blobs) is None


def test_no_text_diff_when_the_contents_were_not_kept(workspace: Path, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    before = snapshot(workspace)  # no blob store: the contents before are not kept
    work(workspace)
    changes = {change.path: change for change in diff(before, snapshot(workspace, blobs))}

    assert text_diff(changes["change.txt"], blobs) is None
    assert text_diff(changes["gone.txt"], blobs) is None
    assert text_diff(changes["new/made.txt"], blobs) is not None


def test_only_newlines_end_lines_in_a_text_diff(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    change = ArtifactChange(
        path="form.txt",
        change="modified",
        size_bytes=5,
        sha256=blobs.put_bytes(b"a\fb\n\n"),
        previous_size_bytes=4,
        previous_sha256=blobs.put_bytes(b"a\fb\n"),
    )

    assert text_diff(change, blobs) == ("--- a/form.txt\n+++ b/form.txt\n@@ -1 +1,2 @@\n a\fb\n+\n")


def test_snapshot_of_a_missing_workspace(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as caught:
        snapshot(tmp_path / "missing")

    assert str(caught.value) == f"no workspace directory '{tmp_path / 'missing'}'"


def test_no_text_diff_for_contents_that_are_not_utf8(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    change = ArtifactChange(
        path="latin1.txt", change="created", size_bytes=4, sha256=blobs.put_bytes(b"caf\xe9")
    )

    assert text_diff(change, blobs) is None


def test_a_blob_store_inside_the_workspace_is_not_recorded(workspace: Path) -> None:
    blobs = BlobStore(workspace / ".taskline/blobs")
    (workspace / ".taskline/taskline.db").parent.mkdir()
    (workspace / ".taskline/taskline.db").write_bytes(b"")

    first = snapshot(workspace, blobs)
    second = snapshot(workspace, blobs)

    assert sorted(first.files) == [".taskline/taskline.db", "change.txt", "gone.txt", "keep.txt"]
    assert diff(first, second) == []
    assert blobs.has(HELLO)


def test_noise_is_left_out_by_gitignore_rules_the_builtin_list_and_the_task(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    for path, text in {
        ".gitignore": "*.log\n!keep.log\nbuild/\n",
        "src/.gitignore": "!debug.log\ngenerated.py\n",
        "src/app.py": "", "src/generated.py": "", "src/debug.log": "", "src/other.log": "",
        "keep.log": "", "run.log": "", "build/out.txt": "", "notes/draft.md": "",
        "__pycache__/app.cpython-312.pyc": "", "src/__pycache__/x.pyc": "", "lone.pyc": "",
        ".pytest_cache/v/cache": "", "node_modules/a/index.js": "", ".venv/bin/python": "",
        ".DS_Store": "", ".mypy_cache/x": "", ".ruff_cache/x": "", ".tox/x": "", ".git/HEAD": "",
        "data/big.csv": "", "data/small.csv": "",
    }.items():  # fmt: skip
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)

    taken = snapshot(root, ignore=["notes/", "data/big.csv"])

    assert sorted(taken.files) == [
        ".gitignore", "data/small.csv", "keep.log", "src/.gitignore", "src/app.py",
        "src/debug.log",
    ]  # fmt: skip


def test_an_unchanged_file_is_not_read_again(workspace: Path, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    old = (workspace / "keep.txt").stat().st_mtime_ns - 10**9
    os.utime(workspace / "keep.txt", ns=(old, old))
    before = snapshot(workspace, blobs)
    # Same size and time, other bytes: only a reading could tell, and none is made.
    (workspace / "keep.txt").write_text("HELLO\n")
    os.utime(workspace / "keep.txt", ns=(old, old))

    after = snapshot(workspace, blobs, previous=before)

    assert after.files["keep.txt"] == before.files["keep.txt"]
    assert diff(before, after) == []
