"""Real git repositories for the tests of workspace copies."""

from __future__ import annotations

import subprocess
from pathlib import Path

# The tests' own identity and defaults, whatever the machine's git config says.
_SETTINGS = ("-c", "user.name=Tester", "-c", "user.email=tester@example.com",
             "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false")  # fmt: skip


def git(repo: Path, *args: str) -> str:
    """Run git in `repo`; its stdout."""
    done = subprocess.run(
        ["git", *_SETTINGS, *args], cwd=repo, capture_output=True, text=True, check=True
    )
    return done.stdout


def write(root: Path, files: dict[str, str]) -> None:
    """Write `files` (relative path -> text) under `root`."""
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def files_of(root: Path) -> dict[str, str]:
    """Every regular file under `root` with its text, `.git` left out."""
    return {
        path.relative_to(root).as_posix(): path.read_text()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink() and ".git" not in path.relative_to(root).parts
    }


def project(root: Path) -> Path:
    """A repository as a user has it mid-work: committed files, an uncommitted change, a
    staged one, a deleted file, an untracked file, and files git or taskline ignore."""
    root.mkdir(parents=True)
    git(root, "init", "-q")
    write(
        root,
        {
            ".gitignore": "*.log\nbuild/\n",
            "README.md": "readme\n",
            "src/app.py": "v1\n",
            "staged.txt": "old\n",
            "gone.txt": "bye\n",
        },
    )
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "start")
    write(
        root,
        {
            "src/app.py": "v2\n",  # changed, not staged
            "staged.txt": "new\n",
            "notes.txt": "untracked\n",
            "debug.log": "ignored by .gitignore\n",
            "build/out.txt": "ignored by .gitignore\n",
            ".venv/lib.py": "noise taskline ignores\n",
        },
    )
    git(root, "add", "staged.txt")
    (root / "gone.txt").unlink()
    return root


# What the agent finds in a copy of `project`: what the user sees, without the noise.
PROJECT_COPIED = {
    ".gitignore": "*.log\nbuild/\n",
    "README.md": "readme\n",
    "notes.txt": "untracked\n",
    "src/app.py": "v2\n",
    "staged.txt": "new\n",
}


def worktrees(repo: Path) -> list[str]:
    """The paths `git worktree list` shows for `repo`."""
    listed = git(repo, "worktree", "list", "--porcelain").splitlines()
    return [line.removeprefix("worktree ") for line in listed if line.startswith("worktree ")]
