"""A task's own copy of its workspace: the user's tree stays as it is until they apply the work.

`--workspace DIR --copy` runs the agent in a copy kept with taskline's data:

    $TASKLINE_HOME/copies/<task id>/<DIR's name>/   the copy: the agent's workspace
    $TASKLINE_HOME/copies/<task id>/baseline.json   the copy as made, which `apply` diffs against

When DIR is the top of a git work tree with a commit, the copy is a git worktree
of it (`git worktree add --detach` at HEAD; DIR's `git worktree list` shows it
while it exists), and the user's uncommitted changes (staged or not, deletions
included) and untracked files that git does not ignore are copied over byte for
byte: the agent sees what the user sees, and git works in the copy. Otherwise
(no git, a subdirectory of a repository, a repository without a commit) it is a
plain copy of DIR. Hooks of the user's repository do not run.

Either way the copy holds the work, not the environment: what `.gitignore` files
ignore and the built-in noise (`.venv`, `node_modules`, caches …, see
`taskline.engine.ignore`) is not copied. Those are often large, are rebuilt from
the sources, and are never artifacts; copying them for every task would cost
more than most runs. A check that needs an environment makes it, or uses DIR's
read-only (a project installed there in editable mode is imported from DIR, not
from the copy). taskline's own files (its data directory, database and config)
are never copied. Submodules are not checked out in a git copy.

A copy is made when the task first starts and reused by its reworks, retries and
resumed runs, until `remove` (after its work is applied, or when it is discarded).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pathspec import GitIgnoreSpec
from pydantic import ValidationError

from taskline.engine.artifacts import Snapshot
from taskline.engine.ignore import BUILTIN_PATTERNS, IgnoreRules
from taskline.errors import CopyError
from taskline.models import Task
from taskline.private import private_dir

COPIES = "copies"
BASELINE = "baseline.json"
# Variables that would point git at another repository than the one it is run in.
_GIT_LOCATION_VARIABLES = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
    "GIT_NAMESPACE", "GIT_PREFIX",
)  # fmt: skip
_NOISE = GitIgnoreSpec.from_lines(BUILTIN_PATTERNS)


def copy_path(home: Path, task_id: str, workspace: str | os.PathLike[str]) -> Path:
    """Where task `task_id`'s copy of `workspace` lives: `<home>/copies/<id>/<its name>`, so
    that the copy keeps the project's directory name."""
    name = Path(workspace).resolve().name or "workspace"
    return (home / COPIES / task_id / name).absolute()


@dataclass(frozen=True)
class WorkspaceCopy:
    """One task's copy of the user's workspace."""

    source: Path
    """The user's directory (`--workspace DIR`)."""
    tree: Path
    """The copy, where the agent works."""

    @classmethod
    def of(cls, task: Task) -> WorkspaceCopy | None:
        """The copy `task` runs in (made or not), or None when it runs in place."""
        if task.copy_dir is None or task.workspace is None:
            return None
        return cls(source=Path(task.workspace), tree=Path(task.copy_dir))

    @property
    def baseline_path(self) -> Path:
        """Where the snapshot of the copy as made is kept, beside the copy."""
        return self.tree.parent / BASELINE

    @property
    def is_git_worktree(self) -> bool:
        """Whether the copy is a git worktree registered in the user's repository."""
        return (self.tree / ".git").is_file()

    def repository(self) -> tuple[Path, ...]:
        """The user's git directory when the copy is a worktree of it, for the sandbox to
        let git in the copy read (never write) it; asked of DIR, not of the copy's `.git`
        file, which the agent may have rewritten."""
        if not self.is_git_worktree:
            return ()
        try:
            output = _git(self.source, "rev-parse", "--path-format=absolute", "--git-common-dir")
        except CopyError:
            return ()
        common = Path(os.fsdecode(output.strip()))
        return (common,) if common.is_dir() else ()

    def exists(self) -> bool:
        """Whether the copy is there and complete (its baseline is written last)."""
        return self.tree.is_dir() and self.baseline_path.is_file()

    def baseline(self) -> Snapshot:
        """Every file of the copy as it was made, with its sha256."""
        try:
            return Snapshot.model_validate_json(self.baseline_path.read_bytes())
        except (OSError, ValidationError) as exc:
            raise CopyError(f"cannot read the baseline of the copy {self.tree}: {exc}") from exc

    def make(
        self, *, leave_out: Iterable[Path], take_baseline: Callable[[Path], Snapshot]
    ) -> Snapshot:
        """Copy the workspace, then keep `take_baseline(tree)` as the baseline and return it.

        What an interrupted earlier attempt left is removed first. `leave_out` are
        paths (taskline's own files) that are not copied even when inside the workspace.
        """
        if not self.source.is_dir():
            raise CopyError(f"cannot copy workspace {self.source}: it is not a directory")
        self.remove()
        private_dir(self.tree.parent)
        source = self.source.resolve()
        skipped = [Path(os.path.realpath(path)) for path in leave_out]
        if _git_top(source) == source and _has_commit(source):
            _git_copy(source, self.tree, skipped)
        else:
            _plain_copy(source, self.tree, skipped)
        baseline = take_baseline(self.tree)
        written = self.baseline_path.with_name(f".{BASELINE}.partial")
        written.write_text(baseline.model_dump_json(), encoding="utf-8")
        written.replace(self.baseline_path)  # the copy is complete once this name exists
        return baseline

    def remove(self) -> None:
        """Remove the copy and its baseline; a git worktree is also unregistered from the
        user's repository, so that its `git worktree list` no longer shows it."""
        if self.is_git_worktree and self.source.is_dir():
            try:
                _git(self.source, "worktree", "remove", "--force", str(self.tree))
            except CopyError:
                pass  # e.g. the repository was replaced: the directory is removed below
        shutil.rmtree(self.tree, ignore_errors=True)
        shutil.rmtree(self.tree.parent, ignore_errors=True)


def _git(cwd: Path, *args: str) -> bytes:
    """Run git in `cwd`, with the user's hooks turned off; its stdout, or `CopyError`."""
    environment = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARIABLES}
    environment["GIT_TERMINAL_PROMPT"] = "0"
    command = ["git", "-c", "core.hooksPath=/dev/null", *args]
    try:
        done = subprocess.run(  # noqa: S603 - git with arguments of our own
            command, cwd=cwd, env=environment, capture_output=True, check=False
        )
    except OSError as exc:
        raise CopyError(f"cannot run git: {exc}") from exc
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        reason = lines[-1] if lines else f"exit code {done.returncode}"
        raise CopyError(f"git {args[0]} in {cwd} failed: {reason}")
    return done.stdout


def _git_top(directory: Path) -> Path | None:
    """The top of the git work tree `directory` is in; None when it is in none (or no git)."""
    try:
        top = _git(directory, "rev-parse", "--show-toplevel").decode().strip()
    except (CopyError, UnicodeDecodeError):
        return None
    return Path(os.path.realpath(top)) if top else None


def _has_commit(directory: Path) -> bool:
    try:
        _git(directory, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    except CopyError:
        return False  # a repository without a commit: there is no HEAD to check out
    return True


def _paths(output: bytes) -> list[str]:
    return [os.fsdecode(entry) for entry in output.split(b"\0") if entry]


def _git_copy(source: Path, tree: Path, leave_out: Sequence[Path]) -> None:
    # --force: a worktree registered at this path by an attempt that was cut short is reused
    _git(source, "worktree", "add", "--force", "--detach", "--quiet", str(tree), "HEAD")
    changed = _paths(
        _git(source, "diff", "--name-only", "--no-renames", "--ignore-submodules=all", "-z",
             "HEAD", "--")
    )  # fmt: skip
    untracked = [
        path
        for path in _paths(_git(source, "ls-files", "--others", "--exclude-standard", "-z"))
        if not path.endswith("/") and not _NOISE.match_file(path)  # "x/": a nested repository
    ]
    # Deletions first: a file the user replaced by a directory makes room for its contents.
    present = []
    for path in changed:
        if os.path.lexists(source / path):
            present.append(path)
        else:
            _remove(tree / path)
    for path in [*present, *untracked]:
        if not _inside(source / path, leave_out):
            _copy_entry(source / path, tree / path)
    for place in leave_out:  # a tracked file of taskline's own, e.g. a committed config
        if place.is_relative_to(source) and place != source:
            _remove(tree / place.relative_to(source))


def _copy_entry(source: Path, target: Path) -> None:
    """Copy a regular file or a symlink (as a symlink); directories (submodules) are skipped."""
    mode = source.lstat().st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        return
    _remove(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target, follow_symlinks=False)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def _inside(path: Path, places: Sequence[Path]) -> bool:
    return any(path == place or path.is_relative_to(place) for place in places)


def _plain_copy(source: Path, tree: Path, leave_out: Sequence[Path]) -> None:
    try:
        shutil.copytree(source, tree, symlinks=True, ignore=_Noise(source, leave_out))
    except shutil.Error as exc:  # every file that failed, after copying the rest
        failures = exc.args[0]
        first = failures[0] if failures else ("?", "?", "unknown error")
        raise CopyError(
            f"cannot copy workspace {source}: {len(failures)} files could not be copied,"
            f" e.g. {first[0]}: {first[2]}"
        ) from exc
    except OSError as exc:
        raise CopyError(f"cannot copy workspace {source}: {exc}") from exc


class _Noise:
    """What `shutil.copytree` leaves out of a plain copy: ignored files, taskline's own,
    and what is neither a directory, a regular file nor a symlink (a FIFO would block)."""

    def __init__(self, root: Path, leave_out: Sequence[Path]) -> None:
        self.root = root
        self.rules = IgnoreRules(root)
        self.leave_out = set(leave_out)

    def __call__(self, directory: str, names: list[str]) -> set[str]:
        # copytree walks the real directories top down (a symlinked one is copied as a
        # link), so `directory` is a real path and its parent's rules were read first.
        relative = Path(directory).relative_to(self.root).as_posix()
        relative_dir = "" if relative == "." else f"{relative}/"
        self.rules.enter(relative_dir)
        return {name for name in names if self._skipped(Path(directory, name), relative_dir)}

    def _skipped(self, path: Path, relative_dir: str) -> bool:
        try:
            mode = path.lstat().st_mode
        except OSError:
            return True  # gone while we walked
        is_dir = stat.S_ISDIR(mode)
        if not (is_dir or stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            return True
        return path in self.leave_out or self.rules.ignored(relative_dir, path.name, is_dir=is_dir)
