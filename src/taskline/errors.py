"""Every error taskline raises on purpose, as one small tree.

    TasklineError
    ├── InvalidValueError        a value a user gave is not acceptable
    │   └── AmbiguousIdError     an id prefix that several tasks or runs start with
    ├── ConfigError              taskline.toml or the environment is wrong
    │   └── ModelReferenceError  a model reference names no model taskline can reach
    ├── NotFoundError            no task or agent with that id or name
    ├── AlreadyExistsError       the name or id is taken
    ├── IllegalTransitionError   the lifecycle table does not allow the move
    ├── ConflictError            somebody else changed the task first
    ├── DependenciesNotMetError  a task cannot start before its dependencies finish
    ├── StoreError               the database cannot be opened or migrated
    ├── CopyError                a workspace copy cannot be made, applied or removed
    │   └── WorkspaceChangedError  files to write back changed in the workspace meanwhile
    ├── McpServerError           an MCP server did not start, or stopped answering
    ├── WorkerProcessError       a process of `taskline worker --processes` failed
    └── ProviderError            a model call failed, after any retries
        └── ResponseParseError   the call was billed but its answer could not be read

Each carries the facts as typed attributes, and its message is one line that a
person can act on; the CLI prints it as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from taskline.llm.types import PriceSource, Usage

MAX_MESSAGE_CHARS = 300
"""Longest a message taskline makes may be: one that quotes what a model or a
provider sent is cut here, and the full text stays in the stored records."""


def bounded(text: str, max_chars: int = MAX_MESSAGE_CHARS) -> str:
    """`text`, cut to `max_chars` characters with a note of how much was left out."""
    if len(text) <= max_chars:
        return text
    kept = text[: max(max_chars - 40, 0)]
    return f"{kept}… [{len(text) - len(kept)} more characters]"


class TasklineError(Exception):
    """Base class of every error taskline raises on purpose."""


class InvalidValueError(TasklineError):
    """A value given for a task, an agent or an option is not acceptable."""


class ConfigError(TasklineError):
    """The configuration file or an environment variable is wrong."""


class StoreError(TasklineError):
    """The database cannot be opened, reached or migrated."""


class CopyError(TasklineError):
    """A task's copy of its workspace cannot be made, applied or removed."""


class WorkspaceChangedError(CopyError):
    """Files a copy's work would write back were changed in the workspace since the copy was
    made; nothing was written."""

    def __init__(self, *, task_id: str, workspace: str, paths: Sequence[str], copy: str) -> None:
        self.task_id = task_id
        self.workspace = workspace
        self.paths = tuple(paths)
        """The files, relative to `workspace`, that changed there since the copy was made."""
        self.copy = copy
        super().__init__(
            f"task {task_id} not applied: changed in {workspace} since the task started:"
            f" {', '.join(self.paths)}; nothing was written, the copy stays at {copy}"
        )


class McpServerError(TasklineError):
    """An MCP server did not start, or its connection broke; the message says why."""

    def __init__(self, server: str, reason: str) -> None:
        self.server = server
        self.reason = bounded(reason)
        super().__init__(f"mcp server {server!r} {self.reason}")


class WorkerProcessError(TasklineError):
    """A child process of `taskline worker --processes` ended with an error while the
    workers stopped, or died too often to be started again; the others were stopped."""

    def __init__(self, message: str, worker_ids: Sequence[str]) -> None:
        self.worker_ids = tuple(worker_ids)
        """The ids of the workers that failed."""
        super().__init__(message)


class AmbiguousIdError(InvalidValueError):
    """A shortened id that more than one task (or run) starts with."""

    def __init__(
        self, kind: str, prefix: str, candidates: Sequence[str], *, more: bool = False
    ) -> None:
        self.kind = kind
        self.prefix = prefix
        self.candidates = tuple(candidates)
        """The ids `prefix` could mean (the first few when `more`)."""
        self.more = more
        """More ids than `candidates` start with `prefix`."""
        listed = ", ".join(self.candidates) + (", …" if more else "")
        super().__init__(f"{kind} id {prefix!r} is ambiguous: it could be {listed}")


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


class ModelReferenceError(ConfigError):
    """A model reference (`openai:gpt-4o-mini`, `local:smollm2`, …) names no usable model."""

    def __init__(self, ref: str, reason: str) -> None:
        self.ref = ref
        self.reason = reason
        super().__init__(f"model {ref!r}: {reason}")


class ProviderError(TasklineError):
    """A model call failed: refused, unreachable or still failing when the attempts ran out."""

    def __init__(
        self,
        *,
        provider: str,
        model: str,
        detail: str,
        status_code: int | None = None,
        attempts: int = 1,
        attempt_errors: Sequence[str] = (),
    ) -> None:
        self.provider = provider
        self.model = model
        self.detail = bounded(detail)
        self.status_code = status_code
        self.attempts = attempts
        self.attempt_errors = tuple(attempt_errors)
        plural = "" if attempts == 1 else "s"
        super().__init__(
            f"{provider}:{model} failed after {attempts} attempt{plural}: {self.detail}"
        )


class ResponseParseError(ProviderError):
    """The provider answered and billed the call, but the answer could not be read.

    The usage and cost are kept so the call can still be recorded; `usage` is None
    only when the body was too broken to say. `raw_usage` is the provider's usage
    object as received, when there was one.
    """

    def __init__(
        self,
        *,
        provider: str,
        model: str,
        detail: str,
        usage: Usage | None,
        cost_usd: Decimal | None,
        price_source: PriceSource,
        body_excerpt: str,
        attempts: int = 1,
        attempt_errors: Sequence[str] = (),
        raw_usage: dict[str, Any] | None = None,
    ) -> None:
        self.usage = usage
        self.raw_usage = raw_usage
        self.cost_usd = cost_usd
        self.price_source = price_source
        self.body_excerpt = body_excerpt
        super().__init__(
            provider=provider,
            model=model,
            detail=f"unreadable response: {detail}",
            attempts=attempts,
            attempt_errors=attempt_errors,
        )
