"""Every way a run can stop short ends the task FAILED with its category, and keeps what it made."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from taskline import Status, Taskline
from taskline.engine.loop import CORRECTION
from taskline.llm.scripted import ScriptedResponse
from taskline.llm.types import UserMessage
from taskline.protocols import Model

from .scripting import (
    CREATED_AND_ASSIGNED,
    STARTED,
    SUBMITTED,
    call,
    costs_of,
    failure,
    last_tool_results,
    metrics_of,
    runs_of,
    scripted,
    submit,
    task_prompt,
    trail,
)

D = Decimal
# A run's time limit long enough for its first turn on a loaded machine.
RUN_TIMEOUT_SECONDS = 8
# Far short of the 120 s a command may run by default: a run that lasts this long was
# not stopped by its own time limit.
NOT_STOPPED_SECONDS = 60


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def failed_trail(message: str) -> list[tuple[Status | None, Status, str, str]]:
    return [*CREATED_AND_ASSIGNED, STARTED, (Status.IN_PROGRESS, Status.FAILED, "system", message)]


def test_max_turns(tl: Taskline, home: Path) -> None:
    factory, [model] = scripted(
        [call("list_dir", path="."), call("read_file", path="missing.txt"), submit("too late")]
    )
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Never finishes", max_turns=2)
    tl.assign(task.id, "coder")

    done = tl.run_task(task.id)

    message = "used all 2 turns without submitting the work"
    assert (done.status, done.failure_category, done.failure_message) == (
        Status.FAILED, "max_turns", message,
    )  # fmt: skip
    assert failure(tl, task.id) == (Status.FAILED, "max_turns", message)
    assert trail(tl, task.id) == failed_trail(message)
    assert runs_of(tl, task.id) == [(1, "first", "failed", None, "max_turns", message)]
    assert len(model.calls) == 2  # the third call was refused before it was made
    assert costs_of(tl, task.id) == [
        (1, "agent", 1, "coder", 100, 20, D("0.001")),
        (1, "agent", 2, "coder", 100, 20, D("0.001")),
    ]
    assert metrics_of(tl, task.id) == (2, 240, 200, 40, D("0.002"), 0, 2, 1)
    # The missing file came back to the model as an error, not up the stack.
    [run] = tl.runs(task.id)
    assert [(c.name, c.is_error) for c in tl.store.tool_calls(run.id)] == [
        ("list_dir", False),
        ("read_file", True),
    ]


def test_budget_exhausted(tl: Taskline, home: Path) -> None:
    factory, [model] = scripted(
        [
            call("list_dir", path=".", cost_usd="0.001"),
            call("read_file", path="a.txt", cost_usd="0.001"),
            submit("too late"),
        ]
    )
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Expensive", budget_usd="0.0015")
    tl.assign(task.id, "coder")

    done = tl.run_task(task.id)

    message = "spent $0.002 of the $0.0015 budget before the work was submitted"
    assert failure(tl, task.id) == (Status.FAILED, "budget_exhausted", message)
    assert done.failure_category == "budget_exhausted"
    assert trail(tl, task.id) == failed_trail(message)
    assert runs_of(tl, task.id) == [(1, "first", "failed", None, "budget_exhausted", message)]
    # Under budget before each of the first two calls; over it before the third.
    assert len(model.calls) == 2
    assert "a budget of $0.0015 for model calls" in task_prompt(model.calls[0])
    assert costs_of(tl, task.id) == [
        (1, "agent", 1, "coder", 100, 20, D("0.001")),
        (1, "agent", 2, "coder", 100, 20, D("0.001")),
    ]
    assert metrics_of(tl, task.id) == (2, 240, 200, 40, D("0.002"), 0, 2, 1)


def test_provider_error(tl: Taskline, home: Path) -> None:
    factory, [model] = scripted(
        [
            call("list_dir", path="."),
            ScriptedResponse(error="upstream exploded", status_code=500),
            submit("never reached"),
        ]
    )
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Provider goes down")
    tl.assign(task.id, "coder")

    tl.run_task(task.id)

    message = "scripted:script failed after 1 attempt: upstream exploded"
    assert failure(tl, task.id) == (Status.FAILED, "provider_error", message)
    assert trail(tl, task.id) == failed_trail(message)
    assert runs_of(tl, task.id) == [(1, "first", "failed", None, "provider_error", message)]
    assert len(model.calls) == 2
    # The failed call was not billed; the one before it was, and is kept.
    assert costs_of(tl, task.id) == [(1, "agent", 1, "coder", 100, 20, D("0.001"))]
    assert metrics_of(tl, task.id) == (1, 120, 100, 20, D("0.001"), 0, 1, 1)


def test_stagnation_corrects_once_then_stops(tl: Taskline, home: Path) -> None:
    factory, [model] = scripted([call("list_dir", path=".")] * 4 + [submit("never reached")])
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Stuck")
    tl.assign(task.id, "coder")

    tl.run_task(task.id)

    message = 'made the same call (list_dir {"path": "."}) 4 times in a row'
    assert failure(tl, task.id) == (Status.FAILED, "stagnation", message)
    assert trail(tl, task.id) == failed_trail(message)
    assert runs_of(tl, task.id) == [(1, "first", "failed", None, "stagnation", message)]
    # The run stopped on the 4th repetition: the submit_work answer was never asked for.
    assert len(model.calls) == 4
    # After the 3rd repetition the model was told, once, after that turn's tool result.
    corrections = [
        [m for m in c.messages if m == UserMessage(content=CORRECTION)] for c in model.calls
    ]
    assert [len(found) for found in corrections] == [0, 0, 0, 1]
    assert model.calls[3].messages[-1] == UserMessage(content=CORRECTION)
    assert model.calls[3].messages[-2].kind == "tool_result"
    assert [row[2] for row in costs_of(tl, task.id)] == [1, 2, 3, 4]
    assert metrics_of(tl, task.id) == (4, 480, 400, 80, D("0.004"), 0, 4, 1)


def test_review_rejected_after_the_rework_limit(tl: Taskline, home: Path) -> None:
    factory, [first, rework] = scripted(
        [call("write_file", path="a.txt", content="1\n"), submit("Wrote a.txt.")],
        [call("write_file", path="a.txt", content="2\n"), submit("Rewrote a.txt.")],
    )
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Impossible", checks=["false"], max_rework=1)
    tl.assign(task.id, "coder")

    done = tl.run_task(task.id)

    feedback = "1 of 1 checks failed: false (exit code 1)\n\n$ false\nexit code 1"
    message = f"rejected after 1 rework round: {feedback}"
    assert failure(tl, task.id) == (Status.FAILED, "review_rejected", message)
    assert done.summary == "Rewrote a.txt."
    assert trail(tl, task.id) == [
        *CREATED_AND_ASSIGNED,
        STARTED,
        SUBMITTED,
        (Status.IN_REVIEW, Status.IN_PROGRESS, "checks", f"rework: {feedback}"),
        SUBMITTED,
        (Status.IN_REVIEW, Status.FAILED, "checks", message),
    ]
    assert runs_of(tl, task.id) == [
        (1, "first", "submitted", "Wrote a.txt.", None, None),
        (2, "rework", "submitted", "Rewrote a.txt.", None, None),
    ]
    assert [r.feedback for r in tl.runs(task.id)] == ["", feedback]
    reviews = tl.store.reviews(task.id)
    assert [(r.reviewer, r.approved, r.feedback) for r in reviews] == [
        ("checks", False, feedback),
        ("checks", False, feedback),
    ]
    rework_prompt = task_prompt(rework.calls[0])
    assert f"## Review feedback on your previous attempt\n{feedback}\n" in rework_prompt
    assert "Review feedback" not in task_prompt(first.calls[0])
    assert [(a.path, a.change) for a in tl.artifacts(task.id)] == [
        ("a.txt", "created"),
        ("a.txt", "modified"),
    ]
    assert metrics_of(tl, task.id) == (4, 480, 400, 80, D("0.004"), 0, 4, 2)


def test_crashed_when_the_model_factory_raises(tl: Taskline, home: Path) -> None:
    def factory(ref: str) -> Model:
        raise RuntimeError(f"cannot build {ref}")

    tl.home, tl.model_factory = home, factory
    task = tl.create_task("No model")
    tl.assign(task.id, "coder")

    tl.run_task(task.id)

    message = "cannot build scripted:none"
    assert failure(tl, task.id) == (Status.FAILED, "crashed", message)
    assert trail(tl, task.id) == failed_trail(message)
    assert runs_of(tl, task.id) == [(1, "first", "failed", None, "crashed", message)]
    assert tl.cost_records(task.id) == []
    assert metrics_of(tl, task.id) == (0, 0, 0, 0, D(0), 0, 0, 1)


def test_crashed_on_an_unknown_model_reference(tl: Taskline, home: Path) -> None:
    tl.home = home  # the default factory: resolve_model
    tl.add_agent("ghost", model="nosuch:model")
    task = tl.create_task("Nobody can do this")
    tl.assign(task.id, "ghost")

    tl.run_task(task.id)

    message = (
        "model 'nosuch:model': no provider or endpoint 'nosuch'; known: openai, anthropic,"
        " local, scripted (declare endpoints in taskline.toml)"
    )
    assert failure(tl, task.id) == (Status.FAILED, "crashed", message)
    assert trail(tl, task.id) == failed_trail(message)
    assert [(r.agent, r.model, r.status) for r in tl.runs(task.id)] == [
        ("ghost", "nosuch:model", "failed")
    ]
    assert tl.cost_records(task.id) == []
    assert metrics_of(tl, task.id) == (0, 0, 0, 0, D(0), 0, 0, 1)


def test_timeout_cancels_the_tool_in_flight(tl: Taskline, home: Path) -> None:
    factory, [model] = scripted([call("run_command", command="sleep 600"), submit("never")])
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Slow", timeout_seconds=RUN_TIMEOUT_SECONDS)
    tl.assign(task.id, "coder")

    started = time.monotonic()
    tl.run_task(task.id)
    elapsed = time.monotonic() - started

    assert elapsed < NOT_STOPPED_SECONDS, (
        f"the sleep was not cancelled: the run took {elapsed:.1f} s"
    )
    message = "the run took longer than 8 s"
    assert failure(tl, task.id) == (Status.FAILED, "timeout", message)
    assert trail(tl, task.id) == failed_trail(message)
    assert runs_of(tl, task.id) == [(1, "first", "failed", None, "timeout", message)]
    assert len(model.calls) == 1
    # The call that asked for the sleep was billed before the timeout: it is kept.
    assert costs_of(tl, task.id) == [(1, "agent", 1, "coder", 100, 20, D("0.001"))]


def test_timeout_keeps_what_was_made_before_it(tl: Taskline, home: Path) -> None:
    factory, _ = scripted(
        [
            call("write_file", path="notes.txt", content="halfway\n"),
            call("run_command", command="sleep 600"),
            submit("never"),
        ]
    )
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Slow second step")
    tl.assign(task.id, "coder")

    tl.run_task(task.id, timeout_seconds=RUN_TIMEOUT_SECONDS)

    message = "the run took longer than 8 s"
    assert failure(tl, task.id) == (Status.FAILED, "timeout", message)
    assert costs_of(tl, task.id) == [
        (1, "agent", 1, "coder", 100, 20, D("0.001")),
        (1, "agent", 2, "coder", 100, 20, D("0.001")),
    ]
    [run] = tl.runs(task.id)
    assert [t.number for t in tl.store.turns(run.id)][:1] == [1]
    assert [(c.turn, c.name, c.is_error) for c in tl.store.tool_calls(run.id)][:1] == [
        (1, "write_file", False)
    ]
    assert [(a.path, a.change, a.size) for a in tl.artifacts(task.id)] == [
        ("notes.txt", "created", 8)
    ]
    assert (home / "workspaces" / task.id / "notes.txt").read_text() == "halfway\n"
    metrics = tl.metrics(task.id)
    assert metrics is not None
    assert (
        metrics.tokens_per_task, metrics.cost_per_task, metrics.unpriced_calls, metrics.runs,
    ) == (240, D("0.002"), 0, 1)  # fmt: skip
    assert RUN_TIMEOUT_SECONDS <= metrics.duration_seconds < NOT_STOPPED_SECONDS


def test_timeout_keeps_the_turn_in_flight(tl: Taskline, home: Path) -> None:
    factory, _ = scripted(
        [
            call("write_file", path="notes.txt", content="halfway\n"),
            call("run_command", command="sleep 600"),
        ]
    )
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Slow second step")
    tl.assign(task.id, "coder")

    # The second turn never ends by itself.
    tl.run_task(task.id, timeout_seconds=RUN_TIMEOUT_SECONDS)

    [run] = tl.runs(task.id)
    assert [t.number for t in tl.store.turns(run.id)] == [1, 2]
    assert [(c.turn, c.name, c.is_error) for c in tl.store.tool_calls(run.id)] == [
        (1, "write_file", False),
        (2, "run_command", True),
    ]
    metrics = tl.metrics(task.id)
    assert metrics is not None
    assert metrics.turns_per_task == len(tl.cost_records(task.id)) == 2


def test_tool_errors_do_not_stop_the_run(tl: Taskline, home: Path) -> None:
    factory, [model] = scripted(
        [
            call("read_file", path="missing.txt"),
            call("run_command", command="exit 3"),
            submit("Tried."),
        ]
    )
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Errors are results")
    tl.assign(task.id, "coder")

    done = tl.run_task(task.id)

    assert done.status is Status.COMPLETED
    assert last_tool_results(model.calls[1]) == [
        ("read_file", "No such file or directory: 'missing.txt'", True)
    ]
    assert last_tool_results(model.calls[2]) == [("run_command", "[exit code 3]", True)]
