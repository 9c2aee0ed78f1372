"""Writing a copy's work back into the user's workspace, or throwing it away.

`taskline artifacts ID --apply` takes what changed in the task's copy since it
was made (the copy now against its baseline, with the artifacts' ignore rules)
and writes it into the user's directory: created and modified files, and
deletions. Before it writes anything it checks every file it would touch: it must
still be as it was when the copy was made (same sha256, or still absent), or be
as the copy has it already. Any other file changed in between, and the whole
apply is refused, naming them, with nothing written. After writing, the apply is
recorded as the task's `applied` event and the copy is removed: the work is in
the user's tree and every artifact's contents stay in the blob store.

`--discard` removes the copy without writing anything (the `discarded` event).
A later run of the task (a retry) makes a new copy of the directory as it is then.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from taskline.engine.artifacts import (
    ArtifactChange,
    Snapshot,
    diff,
    sha256_of,
    snapshot,
)
from taskline.engine.copies import WorkspaceCopy
from taskline.errors import CopyError, InvalidValueError, WorkspaceChangedError
from taskline.lifecycle import Status
from taskline.models import Task, TaskEvent, utcnow
from taskline.protocols import Store
from taskline.records import ChangeKind

APPLIED = "applied"
DISCARDED = "discarded"

# What a path in the user's workspace holds when it is not a regular file there.
_OTHER = "something other than a regular file"


@dataclass(frozen=True)
class AppliedChange:
    """One file of a copy's work, as `apply` left it in the user's workspace."""

    path: str
    """Path relative to the workspace, POSIX style."""
    change: ChangeKind
    """What the work did to it."""
    written: bool
    """False when the workspace had it so already, and nothing was written."""


@dataclass(frozen=True)
class Applied:
    """What `apply` did: the changes, where they went, and the copy it removed."""

    changes: list[AppliedChange]
    """Every file of the work, by path."""
    workspace: Path
    """The user's directory the work went into."""
    copy: Path
    """Where the copy was, before it was removed."""


def copy_of(store: Store, task_id: str, *, doing: str) -> tuple[Task, WorkspaceCopy]:
    """The task and its copy, if the copy exists and no run is writing in it; else one
    `InvalidValueError` line saying why `doing` (`apply`, `discard`) cannot be done."""
    task = store.get_task(task_id)
    copy = WorkspaceCopy.of(task)
    if copy is None:
        raise InvalidValueError(
            f"task {task.id} did not run in a copy (it was created without --copy): its work"
            f" is in its workspace already, there is nothing to {doing}"
        )
    if task.status is Status.IN_PROGRESS:
        raise InvalidValueError(
            f"task {task.id} is IN_PROGRESS: its agent is still at work in the copy;"
            f" {doing} it once the run has ended"
        )
    if copy.exists():
        return task, copy
    ends = [event for event in store.events(task.id) if event.kind in (APPLIED, DISCARDED)]
    if ends:
        last = ends[-1]
        raise InvalidValueError(
            f"task {task.id}'s copy was {last.kind} already, by {last.actor} at"
            f" {last.at:%Y-%m-%d %H:%M:%S} UTC: there is no copy to {doing}"
        )
    if not store.list_runs(task.id):
        raise InvalidValueError(
            f"task {task.id} has no copy yet: it is made when the task first runs"
        )
    raise InvalidValueError(f"task {task.id}'s copy {copy.tree} is gone: nothing to {doing}")


def apply_copy(store: Store, task_id: str, *, actor: str) -> Applied:
    """Write the work done in the task's copy into its workspace, then remove the copy."""
    task, copy = copy_of(store, task_id, doing="apply")
    if not copy.source.is_dir():
        raise CopyError(
            f"workspace {copy.source} is not there any more; the copy stays at {copy.tree}"
        )
    baseline = copy.baseline()
    now = snapshot(copy.tree, ignore=task.ignore, previous=baseline)
    changes = diff(baseline, now)
    root = copy.source.resolve()
    found = {change.path: _state(root, change.path) for change in changes}
    changed_meanwhile = [
        change.path
        for change in changes
        if found[change.path] not in (_before(baseline, change), _after(change))
    ]
    if changed_meanwhile:
        raise WorkspaceChangedError(
            task_id=task.id, workspace=str(copy.source), paths=changed_meanwhile,
            copy=str(copy.tree),
        )  # fmt: skip
    applied: list[AppliedChange] = []
    for change in changes:
        needed = found[change.path] != _after(change)
        if needed:
            try:
                _write(copy, root, change)
            except OSError as exc:
                written = sum(a.written for a in applied)
                raise CopyError(
                    f"cannot write {change.path} into {copy.source}: {exc.strerror or exc};"
                    f" {written} of {len(changes)} files were written before, the copy stays"
                    f" at {copy.tree}: apply again once that is fixed"
                ) from exc
        applied.append(AppliedChange(path=change.path, change=change.change, written=needed))
    counts = {kind: sum(c.change == kind for c in changes) for kind in get_args(ChangeKind)}
    store.add_event(
        TaskEvent(
            task_id=task.id, kind=APPLIED, at=utcnow(), actor=actor,
            detail={"workspace": str(copy.source), **counts},
        )
    )  # fmt: skip
    copy.remove()
    return Applied(changes=applied, workspace=copy.source, copy=copy.tree)


def discard_copy(store: Store, task_id: str, *, actor: str) -> Path:
    """Remove the task's copy without writing anything back; returns where it was."""
    task, copy = copy_of(store, task_id, doing="discard")
    store.add_event(
        TaskEvent(
            task_id=task.id, kind=DISCARDED, at=utcnow(), actor=actor,
            detail={"copy": str(copy.tree)},
        )
    )  # fmt: skip
    copy.remove()
    return copy.tree


def _state(root: Path, path: str) -> str | None:
    """The sha256 of the user's file at `path`, None when there is none, or `_OTHER`."""
    target = root / path
    # A symlink on the way (a directory or the file itself) would write elsewhere.
    if os.path.realpath(target) != str(target):
        return _OTHER
    for parent in target.parents:  # a file where the work needs a directory
        if parent == root or parent.is_dir():
            break
        if os.path.lexists(parent):
            return _OTHER
    if not os.path.lexists(target):
        return None
    if not target.is_file():
        return _OTHER
    try:
        return sha256_of(target)
    except OSError:
        return _OTHER


def _before(baseline: Snapshot, change: ArtifactChange) -> str | None:
    state = baseline.files.get(change.path)
    return None if state is None else state.sha256


def _after(change: ArtifactChange) -> str | None:
    return None if change.change == "deleted" else change.sha256


def _write(copy: WorkspaceCopy, root: Path, change: ArtifactChange) -> None:
    target = root / change.path
    if change.change == "deleted":
        target.unlink(missing_ok=True)
        _remove_emptied(target.parent, root, copy.tree)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    source = copy.tree / change.path
    # Written beside the target and renamed over it: a reader never sees half a file.
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        shutil.copymode(source, temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _remove_emptied(directory: Path, root: Path, tree: Path) -> None:
    """Remove directories a deletion left empty, unless the copy still has them."""
    while directory != root and not (tree / directory.relative_to(root)).is_dir():
        try:
            directory.rmdir()
        except OSError:  # not empty: it holds more than the work touched
            return
        directory = directory.parent
