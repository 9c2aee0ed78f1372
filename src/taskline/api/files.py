"""Artifact contents for the API: the bytes to download, and text or a diff to show."""

from __future__ import annotations

from taskline.engine.artifacts import ArtifactChange, text_diff
from taskline.engine.blobs import BlobStore
from taskline.errors import NotFoundError
from taskline.records import Artifact
from taskline.service import Taskline

PREVIEW_CHARS = 200_000
"""Text shown in a preview; the download has it all."""


def find_artifact(
    tl: Taskline, task_id: str, run_id: str, path: str
) -> tuple[Artifact, Artifact | None]:
    """The artifact of `run_id` at `path`, and the same path as an earlier run left it."""
    earlier: Artifact | None = None
    for artifact in tl.artifacts(task_id):  # by run (ids sort in time), then path
        if artifact.path != path:
            continue
        if artifact.run_id == run_id:
            return artifact, earlier
        earlier = artifact
    raise NotFoundError("artifact", f"{path} of run {run_id}")


def content(tl: Taskline, artifact: Artifact) -> bytes:
    """The file's bytes as the run left them (before deletion, for a deleted file)."""
    blobs = BlobStore.in_home(tl.home)
    if not blobs.has(artifact.sha256):
        raise NotFoundError("kept content of artifact", artifact.path)
    return blobs.get(artifact.sha256)


def as_text(data: bytes) -> str | None:
    """`data` as text, or None for a binary file (a NUL byte, or not UTF-8), as git judges."""
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def diff_of(tl: Taskline, artifact: Artifact, earlier: Artifact | None) -> str | None:
    """A unified diff of the change, when both sides are known text.

    A modified file is compared with the content an earlier run left; a file
    that existed before the first run has no known earlier content, so no diff.
    """
    previous = None if earlier is None or earlier.change == "deleted" else earlier.sha256
    if artifact.change == "modified" and previous is None:
        return None
    change = ArtifactChange(
        path=artifact.path,
        change=artifact.change,
        size_bytes=artifact.size,
        sha256=artifact.sha256,
        previous_sha256=previous if artifact.change == "modified" else None,
    )
    diff = text_diff(change, BlobStore.in_home(tl.home))
    return None if diff is None else diff[:PREVIEW_CHARS]


def preview(tl: Taskline, task_id: str, run_id: str, path: str) -> dict[str, object]:
    """What the dashboard shows of an artifact: see `PreviewView`."""
    artifact, earlier = find_artifact(tl, task_id, run_id, path)
    kept = BlobStore.in_home(tl.home).has(artifact.sha256)
    text = as_text(content(tl, artifact)) if kept else None
    return {
        "path": artifact.path,
        "run_id": artifact.run_id,
        "change": artifact.change,
        "size": artifact.size,
        "kept": kept,
        "binary": kept and text is None,
        "text": None if text is None else text[:PREVIEW_CHARS],
        "truncated": text is not None and len(text) > PREVIEW_CHARS,
        "diff": diff_of(tl, artifact, earlier) if kept else None,
    }
