"""Snapshot and diff of a large workspace, as a run takes them before and after the agent.

    .venv/bin/python bench/bench_snapshot.py [--files 20000] [--megabytes 500]

A workspace of FILES files totalling MEGABYTES (in nested directories, with a
`.gitignore` and a `__pycache__` of noise) is written to a temporary directory.
Timed: the first snapshot (every file read, hashed and kept in the blob
store), then the second snapshot with the first as `previous` plus the diff,
when nothing changed: each file is only stat'ed. Target: under 2 s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from taskline.engine.artifacts import diff, snapshot
from taskline.engine.blobs import BlobStore


def make_workspace(root: Path, files: int, total_bytes: int) -> None:
    size = total_bytes // files
    block = os.urandom(size)
    for index in range(files):
        directory = root / f"pkg{index // 1000:02}" / f"mod{index // 100 % 10}"
        directory.mkdir(parents=True, exist_ok=True)
        # Distinct contents, so the blob store holds each file once as a real tree would.
        (directory / f"file{index:05}.py").write_bytes(index.to_bytes(4, "big") + block[4:])
    (root / ".gitignore").write_text("*.log\nbuild/\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "noise.pyc").write_bytes(b"\0" * 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--megabytes", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, "ws")
        make_workspace(root, args.files, args.megabytes * 1024 * 1024)
        blobs = BlobStore(Path(tmp, "blobs"))
        # Modification times in the past, as in a real checkout: a file modified in the tick
        # a snapshot starts is read again (racy), which a fresh benchmark tree would be.
        time.sleep(0.01)  # a clock tick between writing the tree and the first snapshot
        started = time.perf_counter()
        before = snapshot(root, blobs)
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        changes = diff(before, snapshot(root, blobs, previous=before))
        again_seconds = time.perf_counter() - started
    assert changes == [], changes
    print(
        f"{len(before.files):,} files, {args.megabytes} MB: first snapshot {first_seconds:.2f} s"
        f" (read, hashed, kept); snapshot + diff with nothing changed {again_seconds:.2f} s"
        f" (target < 2 s)"
    )


if __name__ == "__main__":
    main()
