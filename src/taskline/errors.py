"""Every error taskline raises on purpose, as one small tree.

    TasklineError
    ├── InvalidValueError        a value a user gave is not acceptable
    ├── ConfigError              taskline.toml or the environment is wrong
    ├── NotFoundError            no task or agent with that id or name
    ├── AlreadyExistsError       the name or id is taken
    ├── IllegalTransitionError   the lifecycle table does not allow the move
    ├── ConflictError            somebody else changed the task first
    ├── DependenciesNotMetError  a task cannot start before its dependencies finish
    └── StoreError               the database cannot be opened or migrated

Each carries the facts as typed attributes, and its message is one line that a
person can act on; the CLI prints it as it is.
"""

from __future__ import annotations

from collections.abc import Sequence


class TasklineError(Exception):
    """Base class of every error taskline raises on purpose."""


class InvalidValueError(TasklineError):
    """A value given for a task, an agent or an option is not acceptable."""


class ConfigError(TasklineError):
    """The configuration file or an environment variable is wrong."""


class StoreError(TasklineError):
    """The database cannot be opened, reached or migrated."""


class NotFoundError(TasklineError):
    """No object of that kind with that key exists."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"no {kind} {key!r}")


class AlreadyExistsError(TasklineError):
    """An object of that kind with that key exists already."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} already exists")


class IllegalTransitionError(TasklineError):
    """The lifecycle table does not allow this move; nothing was written."""

    def __init__(
        self, *, task_id: str, current: str, requested: str, allowed: Sequence[str]
    ) -> None:
        self.task_id = task_id
        self.current = current
        self.requested = requested
        self.allowed = tuple(allowed)
        if self.allowed:
            why = f"allowed from {current}: {', '.join(self.allowed)}"
        else:
            why = f"{current} is terminal, no moves are allowed"
        super().__init__(f"cannot move task {task_id} from {current} to {requested} ({why})")


class ConflictError(TasklineError):
    """Somebody else moved the task between our read and our write; nothing was written."""

    def __init__(self, *, task_id: str, expected: str, actual: str, requested: str) -> None:
        self.task_id = task_id
        self.expected = expected
        self.actual = actual
        self.requested = requested
        super().__init__(
            f"conflict: task {task_id} was moved to {actual} by someone else"
            f" while moving it from {expected} to {requested}; nothing was written"
        )


class DependenciesNotMetError(TasklineError):
    """A task cannot start while some of its dependencies are not COMPLETED."""

    def __init__(self, *, task_id: str, pending: Sequence[tuple[str, str]]) -> None:
        self.task_id = task_id
        self.pending = tuple(pending)
        listed = ", ".join(f"{dep} ({status})" for dep, status in self.pending)
        super().__init__(f"cannot start task {task_id}: dependencies not COMPLETED: {listed}")
