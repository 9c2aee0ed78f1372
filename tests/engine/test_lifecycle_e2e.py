"""A task from assignment to COMPLETED with the scripted model, real tools and the store."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from taskline import Status, Taskline
from taskline.llm.scripted import ScriptedModel, ScriptedResponse
from taskline.llm.types import Usage
from taskline.protocols import Model

USAGE = Usage(input_tokens=100, output_tokens=20)


def call(name: str, **arguments: Any) -> ScriptedResponse:
    return ScriptedResponse.model_validate(
        {"tool_calls": [{"name": name, "arguments": arguments}], "usage": USAGE,
         "cost_usd": "0.001"}
    )  # fmt: skip


def scripted(
    *scripts: list[ScriptedResponse],
) -> tuple[Callable[[str], Model], list[ScriptedModel]]:
    """A model factory handing out one scripted model per call, in order."""
    models = [ScriptedModel(script) for script in scripts]
    pending = list(models)

    def factory(_ref: str) -> Model:
        return pending.pop(0)

    return factory, models


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_full_lifecycle_with_checks(tl: Taskline, home: Path) -> None:
    factory, [model] = scripted(
        [
            call("write_file", path="hello.txt", content="hello world\n"),
            call("submit_work", summary="Wrote hello.txt with a greeting."),
        ]
    )
    tl.home, tl.model_factory = home, factory
    task = tl.create_task(
        "Write a greeting",
        criteria=["hello.txt says hello"],
        checks=["grep -q hello hello.txt"],
    )
    tl.assign(task.id, "coder")

    done = tl.run_task(task.id)

    assert done.status is Status.COMPLETED
    assert done.summary == "Wrote hello.txt with a greeting."
    trail = [(t.from_status, t.to_status, t.actor, t.reason) for t in tl.transitions(task.id)]
    assert trail == [
        (None, Status.CREATED, "user:tester", ""),
        (Status.CREATED, Status.ASSIGNED, "user:tester", ""),
        (Status.ASSIGNED, Status.IN_PROGRESS, "system", "run started (first)"),
        (Status.IN_PROGRESS, Status.IN_REVIEW, "agent:coder", "work submitted"),
        (Status.IN_REVIEW, Status.COMPLETED, "checks", "all 1 checks passed"),
    ]
    workspace = home / "workspaces" / task.id
    assert (workspace / "hello.txt").read_text() == "hello world\n"
    [artifact] = tl.artifacts(task.id)
    assert (artifact.path, artifact.change, artifact.size, artifact.sha256) == (
        "hello.txt",
        "created",
        12,
        hashlib.sha256(b"hello world\n").hexdigest(),
    )
    metrics = tl.metrics(task.id)
    assert metrics is not None
    assert (
        metrics.turns_per_task, metrics.tokens_per_task, metrics.input_tokens,
        metrics.output_tokens, metrics.cost_per_task, metrics.unpriced_calls,
        metrics.tool_calls, metrics.runs,
    ) == (2, 240, 200, 40, Decimal("0.002"), 0, 2, 1)  # fmt: skip
    [run] = tl.runs(task.id)
    assert (run.status, run.summary, run.trigger) == ("submitted", done.summary, "first")
    assert [r.turn for r in tl.cost_records(task.id)] == [1, 2]
    # The prompt carried the whole task.
    first_prompt = model.calls[0].messages[1].content
    assert "# Task: Write a greeting" in first_prompt
    assert "- hello.txt says hello" in first_prompt
    assert "- grep -q hello hello.txt" in first_prompt
