"""How the engine runs its steps: directly, or checkpointed by DBOS (see `taskline.durable`).

Every store write of a run outside its turns goes through `Steps`, so a durable
runner can record each result and, after a crash, replay the recorded ones instead
of doing them again. Model and tool calls go through `Steps.unrecorded`: their own
store records (cost records, tool-call rows) are their checkpoints, one write each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

R = TypeVar("R")


class InlineSteps:
    """Runs every step at once, recording nothing: a crash loses the run."""

    replays = False
    """Never: a step here runs once."""

    async def run(self, name: str, fn: Callable[..., Coroutine[Any, Any, R]], *args: Any) -> R:
        """Await `fn(*args)`."""
        return await fn(*args)

    async def unrecorded(
        self, name: str, fn: Callable[..., Coroutine[Any, Any, R]], *args: Any
    ) -> R:
        """Await `fn(*args)`."""
        return await fn(*args)

    async def call(self, name: str, fn: Callable[..., R], *args: Any) -> R:
        """Call `fn(*args)` in a worker thread: steps write to the store, which may wait on
        a lock, and the event loop must not wait with it."""
        return await asyncio.to_thread(fn, *args)
