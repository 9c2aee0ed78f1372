"""Two writers race for the same move: exactly one wins, the other gets a conflict."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from taskline import ConflictError, Status, Taskline
from taskline.store import SqlStore
from tests.lifecycle_paths import task_in

ROUNDS = 20
WRITERS = 8
TASKS_EACH = 25


def _race(stores: list[SqlStore], task_id: str, target: Status) -> list[object]:
    """Both writers saw the task ASSIGNED; both try to move it at the same moment."""
    barrier = threading.Barrier(len(stores))

    def attempt(store: SqlStore) -> object:
        barrier.wait()
        try:
            return store.move(task_id, target, actor="user:racer", expected=Status.ASSIGNED).status
        except ConflictError as exc:
            return exc

    with ThreadPoolExecutor(len(stores)) as pool:
        return list(pool.map(attempt, stores))


@pytest.mark.parametrize("target", [Status.IN_PROGRESS, Status.CANCELLED])
def test_exactly_one_writer_wins(tl: Taskline, database_url: str, target: Status) -> None:
    # Two stores, two connection pools: as two processes would be.
    stores = [SqlStore.open(database_url), SqlStore.open(database_url)]
    try:
        for _ in range(ROUNDS):
            task_id = task_in(tl, Status.ASSIGNED)
            results = _race(stores, task_id, target)
            wins = [r for r in results if r is target]
            conflicts = [r for r in results if isinstance(r, ConflictError)]
            assert (len(wins), len(conflicts)) == (1, 1)
            assert str(conflicts[0]) == (
                f"conflict: task {task_id} was moved to {target} by someone else"
                f" while moving it from ASSIGNED to {target}; nothing was written"
            )
            trail = tl.transitions(task_id)
            assert [(t.from_status, t.to_status) for t in trail] == [
                (None, Status.CREATED),
                (Status.CREATED, Status.ASSIGNED),
                (Status.ASSIGNED, target),
            ]
            assert tl.get_task(task_id).status is target
    finally:
        for store in stores:
            store.close()


def test_racing_different_moves_leaves_one_consistent_trail(
    tl: Taskline, database_url: str
) -> None:
    stores = [SqlStore.open(database_url), SqlStore.open(database_url)]
    try:
        task_id = task_in(tl, Status.ASSIGNED)
        barrier = threading.Barrier(2)

        def attempt(args: tuple[SqlStore, Status]) -> Status | None:
            store, target = args
            barrier.wait()
            try:
                return store.move(
                    task_id, target, actor="user:racer", expected=Status.ASSIGNED
                ).status
            except ConflictError:
                return None

        with ThreadPoolExecutor(2) as pool:
            results = list(
                pool.map(attempt, zip(stores, [Status.IN_PROGRESS, Status.BLOCKED], strict=True))
            )
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        trail = tl.transitions(task_id)
        assert len(trail) == 3
        assert trail[-1].to_status is winners[0] is tl.get_task(task_id).status
    finally:
        for store in stores:
            store.close()


def test_the_writers_of_one_store_take_turns_in_the_process(tmp_path: Path) -> None:
    # `?timeout=0`: a writer that finds SQLite's write lock taken fails at once. The
    # threads of one store (the engine's, the API's) queue for it in the process instead,
    # each let in when the last commits, so none of them meets the lock.
    store = SqlStore.open(f"sqlite:///{tmp_path / 'taskline.db'}?timeout=0")
    tl = Taskline(store, actor="user:tester")
    barrier = threading.Barrier(WRITERS)

    def write(writer: int) -> list[str]:
        barrier.wait()
        return [tl.create_task(f"task {writer}.{n}").id for n in range(TASKS_EACH)]

    try:
        with ThreadPoolExecutor(WRITERS) as pool:
            created = [task_id for ids in pool.map(write, range(WRITERS)) for task_id in ids]
        assert len(set(created)) == WRITERS * TASKS_EACH
        assert sorted(task.id for task in tl.list_tasks()) == sorted(created)
    finally:
        tl.close()
