"""Which files of a workspace are noise, not work: git's rules, a built-in list, the task's own.

The rules are read with `pathspec`'s `GitIgnoreSpec` rather than asked of
`git check-ignore`: a workspace need not be a git repository to have
`.gitignore` files, a snapshot walks the tree once instead of starting a
process per batch of paths, and the answer does not depend on which git is
installed. As in git, a `.gitignore` applies beneath its own directory, a
deeper file overrides a shallower one, `!pattern` re-includes, and nothing
beneath an ignored directory can be re-included (the directory is not entered).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pathspec import GitIgnoreSpec

# What tools leave behind when an agent runs them: caches, environments, byte code.
BUILTIN_PATTERNS = (
    ".git",
    "__pycache__/",
    ".pytest_cache/",
    ".mypy_cache/",
    ".ruff_cache/",
    "node_modules/",
    ".venv/",
    ".tox/",
    "*.pyc",
    ".DS_Store",
)
GITIGNORE = ".gitignore"


@dataclass(frozen=True)
class _Rules:
    base: str
    """The directory the rules apply beneath, relative to the root: `` or `src/`."""
    spec: GitIgnoreSpec


class IgnoreRules:
    """The ignore rules of one workspace, read as its directories are walked."""

    def __init__(self, root: Path, extra: Sequence[str] = ()) -> None:
        self.root = root
        # The built-in list and the task's patterns come first: a .gitignore may re-include.
        self._rules: dict[str, list[_Rules]] = {
            "": [_Rules("", GitIgnoreSpec.from_lines([*BUILTIN_PATTERNS, *extra]))]
        }

    def enter(self, relative_dir: str) -> None:
        """Read the `.gitignore` of a directory (`` for the root, `src/` beneath) if it has one."""
        parent = relative_dir.rstrip("/").rpartition("/")[0]
        inherited = self._rules.get(f"{parent}/" if parent else "", self._rules[""])
        rules = list(inherited if relative_dir else self._rules[""])
        try:
            text = (self.root / relative_dir / GITIGNORE).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
        if text is not None:
            rules.append(_Rules(relative_dir, GitIgnoreSpec.from_lines(text.splitlines())))
        self._rules[relative_dir] = rules

    def ignored(self, relative_dir: str, name: str, *, is_dir: bool) -> bool:
        """Whether `name` in the entered directory `relative_dir` is noise."""
        # The deepest rule file with a matching pattern decides, as in git.
        for rules in reversed(self._rules[relative_dir]):
            path = f"{relative_dir}{name}".removeprefix(rules.base) + ("/" if is_dir else "")
            found = rules.spec.check_file(path)
            if found.include is not None:
                return bool(found.include)
        return False
