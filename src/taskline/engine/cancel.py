"""Stopping runs whose task was moved elsewhere (`taskline task cancel`, block, the API).

One poller per event loop asks the store once a second for the status of the
tasks running on that loop, and cancels the turns of those someone cancelled,
blocked or failed meanwhile: with a thousand runs in flight that is one query a
second, not a thousand, and no turn pays for a status read of its own.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from taskline.errors import TasklineError
from taskline.lifecycle import Status
from taskline.protocols import Store

CANCEL_POLL_SECONDS = 1.0
# Moves out of IN_PROGRESS that only someone else makes. Not IN_REVIEW (or anything
# after it): a run resumed after a crash replays its turns while the task may already
# be IN_REVIEW by its own earlier `submitted` step, and stopping that replay would make
# it take other steps than the first execution took.
STOPPED_BY_OTHERS = frozenset({Status.CANCELLED, Status.BLOCKED, Status.FAILED})
log = logging.getLogger(__name__)


@dataclass(eq=False)
class Watched:
    """One run being watched; `moved_to` is set once its turns were cancelled for it."""

    store: Store
    task_id: str
    turns: asyncio.Future[Any]
    moved_to: Status | None = None


class CancelWatcher:
    """The runs of one event loop whose task may be moved under them."""

    def __init__(self) -> None:
        self._watched: set[Watched] = set()
        self._poller: asyncio.Task[None] | None = None

    def watch(self, store: Store, task_id: str, turns: asyncio.Future[Any]) -> Watched:
        """Cancel `turns` within about a second of someone cancelling, blocking or failing
        the task in `store`."""
        watched = Watched(store, task_id, turns)
        self._watched.add(watched)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="taskline cancel watcher")
        return watched

    def forget(self, watched: Watched) -> None:
        """The run is over: stop watching it."""
        self._watched.discard(watched)

    async def _poll(self) -> None:
        while self._watched:
            await asyncio.sleep(CANCEL_POLL_SECONDS)
            by_store: dict[Store, list[Watched]] = defaultdict(list)
            for watched in self._watched:
                by_store[watched.store].append(watched)
            for store, runs in by_store.items():
                try:
                    ids = {w.task_id for w in runs}
                    statuses = await asyncio.to_thread(store.statuses_of, ids)
                except TasklineError as exc:  # the database is away for now: ask again later
                    log.warning("cannot check whether running tasks were moved: %s", exc)
                    continue
                for watched in runs:
                    status = statuses.get(watched.task_id)
                    if status in STOPPED_BY_OTHERS and not watched.turns.done():
                        watched.moved_to = status
                        watched.turns.cancel()
                        self._watched.discard(watched)


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CancelWatcher] = (
    weakref.WeakKeyDictionary()
)


def cancel_watcher() -> CancelWatcher:
    """The watcher of the running event loop."""
    return _by_loop.setdefault(asyncio.get_running_loop(), CancelWatcher())
