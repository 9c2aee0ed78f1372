"""The blob store keeps contents by their sha256, once, and hands them back unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskline.engine.blobs import BlobStore
from taskline.errors import InvalidValueError, NotFoundError, StoreError

HELLO_SHA256 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"  # b"hello\n"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def files_under(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def test_put_and_get_a_file(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    source = tmp_path / "hello.txt"
    source.write_bytes(b"hello\n")

    sha256 = blobs.put(source)

    assert sha256 == HELLO_SHA256
    assert blobs.path_of(sha256) == tmp_path / "blobs" / "58" / HELLO_SHA256
    assert blobs.get(sha256) == b"hello\n"
    assert files_under(tmp_path / "blobs") == [f"58/{HELLO_SHA256}"]


def test_putting_the_same_contents_again_changes_nothing(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    source = tmp_path / "hello.txt"
    source.write_bytes(b"hello\n")
    first = blobs.put(source)
    written_ns = blobs.path_of(first).stat().st_mtime_ns

    assert blobs.put(source) == first
    assert blobs.put_bytes(b"hello\n") == first
    assert blobs.path_of(first).stat().st_mtime_ns == written_ns
    assert files_under(tmp_path / "blobs") == [f"58/{HELLO_SHA256}"]


def test_contents_kept_already_are_put_without_writing_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A snapshot puts every file of the workspace at every run: most are kept already.
    blobs = BlobStore(tmp_path / "blobs")
    source = tmp_path / "hello.txt"
    source.write_bytes(b"hello\n")
    blobs.put(source)

    def no_writing(**_: object) -> None:
        raise AssertionError("a temporary file was made for contents kept already")

    monkeypatch.setattr("taskline.engine.blobs.tempfile.mkstemp", no_writing)

    assert blobs.put(source) == HELLO_SHA256
    assert blobs.put_bytes(b"hello\n") == HELLO_SHA256
    with pytest.raises(AssertionError, match="a temporary file was made"):
        blobs.put_bytes(b"new\n")


def test_put_bytes_and_the_empty_blob(tmp_path: Path) -> None:
    blobs = BlobStore.in_home(tmp_path)

    assert blobs.put_bytes(b"") == EMPTY_SHA256
    assert blobs.get(EMPTY_SHA256) == b""
    assert blobs.root == tmp_path / "blobs"
    assert (blobs.has(EMPTY_SHA256), blobs.has(HELLO_SHA256)) == (True, False)


def test_a_large_file_is_copied_whole(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    source = tmp_path / "big.bin"
    source.write_bytes(b"\x00\xff" * 1_500_000)  # more than two chunks

    sha256 = blobs.put(source)

    assert sha256 == "8fa53c4ead59abea28636d5c9cf4732387f6b77e04a8b6e1fb7ea79770fd875e"
    assert blobs.get(sha256) == source.read_bytes()
    assert files_under(tmp_path / "blobs") == [f"8f/{sha256}"]  # no temporary file left


def test_get_of_a_missing_blob(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as caught:
        BlobStore(tmp_path / "blobs").get(HELLO_SHA256)

    assert str(caught.value) == f"no blob '{HELLO_SHA256}'"


def test_a_name_that_is_not_a_sha256_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError) as caught:
        BlobStore(tmp_path / "blobs").path_of("../../etc/passwd")

    assert str(caught.value) == "not a sha256 digest (64 lowercase hex digits): '../../etc/passwd'"


def test_a_damaged_blob_is_reported(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    blobs.put_bytes(b"hello\n")
    blobs.path_of(HELLO_SHA256).write_bytes(b"hellO\n")

    with pytest.raises(StoreError) as caught:
        blobs.get(HELLO_SHA256)

    assert str(caught.value) == f"blob {HELLO_SHA256} is damaged: its contents have another sha256"
