"""The engine's event loop never waits on the database: a run whose store write waits for
a lock another process holds leaves the loop free for everything else."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from taskline import Taskline
from taskline.errors import StoreError
from taskline.store import SqlStore
from tests.faults.test_lock_and_readonly import hold_write_lock

LOCK_WAIT_SECONDS = 4.0
TICK_SECONDS = 0.01
# A loop that waited on the lock would lag by the whole wait; a free loop lags by a
# scheduling slice now and then, longer on a machine busy with other tests, but not by
# half the wait.
MOST_LAG_SECONDS = LOCK_WAIT_SECONDS / 2


async def _run_and_measure_lag(tl: Taskline, task_id: str) -> tuple[float, BaseException | None]:
    lag = 0.0
    done = asyncio.Event()
    ticking_started = asyncio.Event()

    async def ticker() -> None:
        nonlocal lag
        while not done.is_set():
            ticking_started.set()
            before = time.monotonic()
            await asyncio.sleep(TICK_SECONDS)
            lag = max(lag, time.monotonic() - before - TICK_SECONDS)

    ticking = asyncio.create_task(ticker())
    await ticking_started.wait()  # measuring before the run starts
    try:
        await tl.executor().run_task(task_id)
        error: BaseException | None = None
    except StoreError as exc:
        error = exc
    done.set()
    await ticking
    return lag, error


def test_a_run_waiting_on_a_write_lock_leaves_the_loop_responsive(tmp_path: Path) -> None:
    database = tmp_path / "t.db"
    tl = Taskline(
        SqlStore.open(f"sqlite:///{database}?timeout={LOCK_WAIT_SECONDS:g}"), actor="user:tester"
    )
    tl.add_agent("coder", model="scripted:none")
    task = tl.create_task("t")
    tl.assign(task.id, "coder")
    holder = hold_write_lock(database)
    try:
        started = time.monotonic()
        lag, error = asyncio.run(_run_and_measure_lag(tl, task.id))
        waited = time.monotonic() - started
    finally:
        holder.communicate("")
        tl.close()

    assert isinstance(error, StoreError)
    assert str(error).startswith(
        f"database sqlite:///{database}?timeout={LOCK_WAIT_SECONDS:g} failed: database is locked"
    )
    assert waited >= LOCK_WAIT_SECONDS
    assert lag < MOST_LAG_SECONDS, f"the loop lagged {lag:.3f} s"
