"""Models kept between runs, and the one cancel watcher per event loop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from taskline import Status, Taskline
from taskline.engine import cancel
from taskline.engine.cancel import cancel_watcher
from taskline.llm.openai_compat import OpenAICompatModel
from taskline.llm.pool import ModelPool
from taskline.llm.scripted import ScriptedModel
from taskline.protocols import Model
from taskline.records import CostRecord
from taskline.store import SqlStore

from .scripting import call, scripted, submit


def _openai(reference: str) -> Model:
    return OpenAICompatModel(reference, base_url="http://127.0.0.1:9/v1", api_key="k")


def _scripted(_reference: str) -> Model:
    return ScriptedModel([])


def test_a_kept_pool_shares_one_http_model_per_reference_until_closed() -> None:
    async def scenario() -> None:
        pool = ModelPool()
        first = pool.acquire("a", _openai)
        await pool.release(first)
        again = pool.acquire("a", _openai)
        other = pool.acquire("b", _openai)
        assert again is first
        assert other is not first
        assert isinstance(first, OpenAICompatModel)
        assert not first._client.is_closed()
        await pool.aclose()
        assert first._client.is_closed()
        assert pool.acquire("a", _openai) is not first

    asyncio.run(scenario())


def test_each_event_loop_gets_its_own_model() -> None:
    pool = ModelPool()

    async def take() -> Model:
        return pool.acquire("a", _openai)

    assert asyncio.run(take()) is not asyncio.run(take())


def test_scripted_models_and_unkept_pools_are_closed_after_each_run() -> None:
    async def scenario() -> None:
        kept = ModelPool()
        script = kept.acquire("s", _scripted)
        assert kept.acquire("s", _scripted) is not script
        unkept = ModelPool(keep=False)
        model = unkept.acquire("a", _openai)
        assert unkept.acquire("a", _openai) is not model
        await unkept.release(model)
        assert isinstance(model, OpenAICompatModel)
        assert model._client.is_closed()

    asyncio.run(scenario())


def test_one_poll_covers_every_run_and_cancels_only_the_cancelled(
    tl: Taskline, store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    polls: list[set[str]] = []
    answer = store.statuses_of

    def counted(task_ids: Iterable[str]) -> dict[str, Status]:
        ids = set(task_ids)
        polls.append(ids)
        return answer(ids)

    monkeypatch.setattr(store, "statuses_of", counted)
    monkeypatch.setattr(cancel, "CANCEL_POLL_SECONDS", 0.05)
    ids = [tl.create_task(f"t{n}").id for n in range(5)]
    for task_id in ids:
        tl.assign(task_id, "coder")
        tl.move(task_id, Status.IN_PROGRESS)
    tl.cancel(ids[1])
    tl.block(ids[3])
    # As a resumed run's own earlier step may have done: not a reason to stop it.
    tl.move(ids[4], Status.IN_REVIEW)

    async def scenario() -> tuple[list[bool], list[Status | None]]:
        watcher = cancel_watcher()
        runs = [asyncio.ensure_future(asyncio.sleep(30)) for _ in ids]
        watched = [
            watcher.watch(store, task_id, run) for task_id, run in zip(ids, runs, strict=True)
        ]
        # Poll 1 finds two to stop; polls 2 and 3 show they are no longer asked about.
        deadline = time.monotonic() + 60
        while len(polls) < 3:
            assert time.monotonic() < deadline, f"only {len(polls)} polls in 60 seconds"
            await asyncio.sleep(0.01)
        for entry in watched:
            watcher.forget(entry)
        cancelled = [run.cancelled() for run in runs]
        for run in runs:
            run.cancel()
        return cancelled, [entry.moved_to for entry in watched]

    assert asyncio.run(scenario()) == (
        [False, True, False, True, False],
        [None, Status.CANCELLED, None, Status.BLOCKED, None],
    )
    assert polls[0] == set(ids)
    assert len(polls) >= 3
    assert all(poll == {ids[0], ids[2], ids[4]} for poll in polls[1:])


def test_a_fresh_run_looks_up_no_earlier_records(
    tl: Taskline, store: SqlStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lookups: list[tuple[str, int]] = []
    find = store.find_cost_record

    def counted(run_id: str, purpose: str, turn: int) -> CostRecord | None:
        lookups.append((purpose, turn))
        return find(run_id, purpose, turn)

    monkeypatch.setattr(store, "find_cost_record", counted)
    tl.home = tmp_path / "home"
    tl.model_factory, _models = scripted([call("list_dir", path="."), submit("done")])
    task = tl.create_task("t")
    tl.assign(task.id, "coder")
    assert tl.run_task(task.id).status is Status.COMPLETED
    assert lookups == []

    [run] = tl.runs(task.id)
    assert store.has_cost_records(run.id) is True
    assert store.has_cost_records("NOPE") is False


@pytest.mark.parametrize(
    ("move", "status", "message"),
    [
        ("cancel", Status.CANCELLED, "the task was cancelled while it ran"),
        ("block", Status.BLOCKED, "the task was moved to BLOCKED while it ran"),
    ],
)
def test_a_task_moved_elsewhere_stops_its_run_within_seconds(
    tl: Taskline,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    move: str,
    status: Status,
    message: str,
) -> None:
    monkeypatch.setattr(cancel, "CANCEL_POLL_SECONDS", 0.1)
    tl.home = tmp_path / "home"
    # The second call would take ten minutes: only the move can end the run before that.
    slow = [
        call("read_file", path="f0.txt"),
        call("read_file", path="f1.txt").model_copy(update={"delay_seconds": 600}),
    ]
    tl.model_factory = lambda _ref: ScriptedModel(slow)
    task = tl.create_task("t")
    tl.assign(task.id, "coder")
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(tl.run_task, task.id)
        deadline = time.monotonic() + 60
        while not any(r.state == "answered" for r in tl.cost_records(task.id)):
            assert time.monotonic() < deadline, "the run did not start within 60 seconds"
            time.sleep(0.02)
        moved_at = time.monotonic()
        getattr(tl, move)(task.id)
        ended = running.result(timeout=300)
        stopped_after = time.monotonic() - moved_at
    assert ended.status is status
    [run] = tl.runs(task.id)
    assert (run.status, run.failure_message) == ("cancelled", message)
    # Well short of the 600 s call: the move stopped the run in the middle of it.
    assert stopped_after < 120
    # The call the move interrupted was sent: it may have been billed, so it is lost.
    assert [r.state for r in tl.cost_records(task.id)] == ["answered", "lost"]
    assert [t.to_status for t in tl.transitions(task.id)][-1] is status


def test_the_library_loads_no_provider_sdk_until_a_model_needs_one() -> None:
    # Each SDK costs tens of MiB in every process, workers and the CLI included.
    code = "import sys, taskline.service; print(sorted({'anthropic', 'openai'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n"
