"""A task's copy of its workspace: a git worktree of a repository, else a plain copy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from taskline.engine.artifacts import Snapshot, snapshot
from taskline.engine.copies import WorkspaceCopy, copy_path
from taskline.errors import CopyError
from tests.engine.gitrepo import PROJECT_COPIED, files_of, git, project, worktrees, write


def make(copy: WorkspaceCopy, *leave_out: Path) -> Snapshot:
    return copy.make(leave_out=leave_out, take_baseline=snapshot)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return project(tmp_path / "repo")


def test_copy_path_is_under_the_home_and_keeps_the_directory_name(tmp_path: Path) -> None:
    assert copy_path(Path("home"), "T1", tmp_path / "proj/") == (
        Path.cwd() / "home" / "copies" / "T1" / "proj"
    )


def test_a_repository_is_copied_as_a_worktree_with_the_users_changes(
    repo: Path, tmp_path: Path
) -> None:
    copy = WorkspaceCopy(source=repo, tree=tmp_path / "home/copies/T1/repo")

    baseline = make(copy)

    assert files_of(copy.tree) == PROJECT_COPIED
    assert (copy.is_git_worktree, copy.exists()) == (True, True)
    assert sorted(baseline.files) == sorted(PROJECT_COPIED)
    assert Snapshot.model_validate_json(copy.baseline_path.read_text()) == baseline
    assert copy.baseline() == baseline
    # Detached at the user's HEAD; git in the copy sees the carried-over changes.
    assert git(copy.tree, "rev-parse", "HEAD") == git(repo, "rev-parse", "HEAD")
    assert git(copy.tree, "status", "--porcelain").splitlines() == [
        " D gone.txt",
        " M src/app.py",
        " M staged.txt",
        "?? notes.txt",
    ]
    assert worktrees(repo) == [str(repo), str(copy.tree)]
    assert copy.repository() == (repo / ".git",)
    assert (tmp_path / "home/copies/T1").stat().st_mode & 0o777 == 0o700


def test_the_users_repository_is_left_as_it_was(repo: Path, tmp_path: Path) -> None:
    before = (files_of(repo), git(repo, "status", "--porcelain"), git(repo, "stash", "list"))

    make(WorkspaceCopy(source=repo, tree=tmp_path / "copy/repo"))

    assert (files_of(repo), git(repo, "status", "--porcelain"), git(repo, "stash", "list")) == (
        before
    )


def test_removing_a_worktree_copy_unregisters_it(repo: Path, tmp_path: Path) -> None:
    copy = WorkspaceCopy(source=repo, tree=tmp_path / "home/copies/T1/repo")
    make(copy)
    (copy.tree / "work.txt").write_text("not applied\n")

    copy.remove()

    assert not (tmp_path / "home/copies/T1").exists()
    assert worktrees(repo) == [str(repo)]
    assert not copy.exists()


def test_taskline_files_inside_the_workspace_are_not_copied(repo: Path, tmp_path: Path) -> None:
    write(repo, {"taskline.toml": "[defaults]\n", ".taskline/taskline.db": "rows\n"})
    git(repo, "add", "taskline.toml")
    git(repo, "commit", "-q", "-m", "config")
    copy = WorkspaceCopy(source=repo, tree=tmp_path / "copy/repo")

    make(copy, repo / ".taskline", repo / "taskline.toml")

    assert files_of(copy.tree) == PROJECT_COPIED


def test_a_failed_attempt_is_cleared_before_the_copy_is_made_again(
    repo: Path, tmp_path: Path
) -> None:
    copy = WorkspaceCopy(source=repo, tree=tmp_path / "copy/repo")
    make(copy)
    # Cut short: the worktree registered, its directory half gone, no baseline yet.
    copy.baseline_path.unlink()
    (copy.tree / "README.md").unlink()
    assert not copy.exists()

    make(copy)

    assert files_of(copy.tree) == PROJECT_COPIED
    assert worktrees(repo) == [str(repo), str(copy.tree)]


def test_a_directory_without_git_is_copied_without_its_noise(tmp_path: Path) -> None:
    source = tmp_path / "plain"
    write(
        source,
        {
            ".gitignore": "*.log\n!keep.log\n",
            "main.py": "print(1)\n",
            "run.log": "ignored\n",
            "keep.log": "re-included\n",
            "sub/.gitignore": "data/\n",
            "sub/data/big.bin": "ignored beneath sub\n",
            "sub/code.py": "x = 1\n",
            "node_modules/pkg/index.js": "noise\n",
            "pkg/__pycache__/m.cpython-312.pyc": "noise\n",
            ".taskline/taskline.db": "taskline's own\n",
        },
    )
    (source / "link.py").symlink_to("main.py")
    os.mkfifo(source / "pipe")  # copied, it would block the copy forever
    copy = WorkspaceCopy(source=source, tree=tmp_path / "copy/plain")

    baseline = make(copy, source / ".taskline")

    assert files_of(copy.tree) == {
        ".gitignore": "*.log\n!keep.log\n",
        "keep.log": "re-included\n",
        "main.py": "print(1)\n",
        "sub/.gitignore": "data/\n",
        "sub/code.py": "x = 1\n",
    }
    assert os.readlink(copy.tree / "link.py") == "main.py"
    assert not os.path.lexists(copy.tree / "pipe")
    assert not copy.is_git_worktree
    assert copy.repository() == ()
    assert sorted(baseline.files) == [".gitignore", "keep.log", "main.py", "sub/.gitignore",
                                      "sub/code.py"]  # fmt: skip

    copy.remove()
    assert not (tmp_path / "copy").exists()
    assert files_of(source)["main.py"] == "print(1)\n"


def test_a_subdirectory_of_a_repository_is_a_plain_copy(repo: Path, tmp_path: Path) -> None:
    copy = WorkspaceCopy(source=repo / "src", tree=tmp_path / "copy/src")

    make(copy)

    assert files_of(copy.tree) == {"app.py": "v2\n"}
    assert not copy.is_git_worktree
    assert worktrees(repo) == [str(repo)]


def test_a_repository_without_a_commit_is_a_plain_copy(tmp_path: Path) -> None:
    source = tmp_path / "fresh"
    source.mkdir()
    git(source, "init", "-q")
    write(source, {"a.txt": "a\n", ".gitignore": "*.tmp\n", "b.tmp": "ignored\n"})
    copy = WorkspaceCopy(source=source, tree=tmp_path / "copy/fresh")

    make(copy)

    assert files_of(copy.tree) == {".gitignore": "*.tmp\n", "a.txt": "a\n"}
    assert not copy.is_git_worktree


def test_a_missing_workspace_is_one_clear_error(tmp_path: Path) -> None:
    copy = WorkspaceCopy(source=tmp_path / "nowhere", tree=tmp_path / "copy/nowhere")

    with pytest.raises(CopyError) as caught:
        make(copy)

    assert (
        str(caught.value) == f"cannot copy workspace {tmp_path / 'nowhere'}: it is not a directory"
    )
    assert not (tmp_path / "copy").exists()
