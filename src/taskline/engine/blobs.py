"""A content-addressed store of file contents: `blobs/ab/abcdef…`, named by their sha256."""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from taskline.errors import InvalidValueError, NotFoundError, StoreError
from taskline.private import private_dir

CHUNK_BYTES = 1 << 20
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    """Contents kept by their sha256 under `root`, each written once and never changed.

    A blob is written to a temporary file next to its final place and renamed
    into it, so a reader never sees half a blob; storing the same content again
    costs a hash and nothing more.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root)

    @classmethod
    def in_home(cls, home: str | os.PathLike[str]) -> BlobStore:
        """The blob store of a taskline data directory: `home/blobs`."""
        return cls(Path(home) / "blobs")

    @property
    def root(self) -> Path:
        """The directory the blobs are kept in."""
        return self._root

    def path_of(self, sha256: str) -> Path:
        """Where the blob `sha256` is (or would be) kept."""
        if not SHA256_PATTERN.match(sha256):
            raise InvalidValueError(f"not a sha256 digest (64 lowercase hex digits): {sha256!r}")
        return self._root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        """Whether the blob `sha256` is kept."""
        return self.path_of(sha256).is_file()

    def put(self, path: str | os.PathLike[str]) -> str:
        """Keep the contents of the file at `path`; returns their sha256."""
        with open(path, "rb") as source:
            return self._put_stream(source)

    def put_bytes(self, data: bytes) -> str:
        """Keep `data`; returns its sha256."""
        return self._put_stream(io.BytesIO(data))

    def get(self, sha256: str) -> bytes:
        """The contents kept as `sha256`.

        Raises `NotFoundError` when there is no such blob and `StoreError` when
        the blob's contents no longer match its name.
        """
        try:
            data = self.path_of(sha256).read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError("blob", sha256) from exc
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StoreError(f"blob {sha256} is damaged: its contents have another sha256")
        return data

    def _put_stream(self, source: BinaryIO) -> str:
        first = source.read(CHUNK_BYTES)
        second = source.read(CHUNK_BYTES)
        if not second:
            # It fits in memory: hash it first, and write nothing when it is kept already
            # (a snapshot puts every file of the workspace, at every run).
            sha256 = hashlib.sha256(first).hexdigest()
            if not self.path_of(sha256).exists():
                self._write([first])
            return sha256
        return self._write(
            itertools.chain([first, second], iter(lambda: source.read(CHUNK_BYTES), b""))
        )

    def _write(self, chunks: Iterable[bytes]) -> str:
        # mkstemp makes the file 0600 and the rename keeps it: blobs are their owner's only.
        # Copy while hashing: the file is read once, and what is kept is what was hashed.
        private_dir(self._root)
        digest = hashlib.sha256()
        descriptor, temporary = tempfile.mkstemp(dir=self._root, prefix=".incoming-")
        try:
            with os.fdopen(descriptor, "wb") as target:
                for chunk in chunks:
                    digest.update(chunk)
                    target.write(chunk)
            sha256 = digest.hexdigest()
            final = self.path_of(sha256)
            if not final.exists():
                private_dir(final.parent)
                os.replace(temporary, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        return sha256
