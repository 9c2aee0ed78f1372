"""A turn's tool calls are bounded: at most N run at once, at most M run at all, and error
results are capped like any output. Through the real engine, with the scripted model."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from taskline import Status, Taskline
from taskline.config import Config, Defaults
from taskline.engine.executor import Executor
from taskline.protocols import Tool
from taskline.tools import ToolContext, ToolResult, Workspace
from taskline.tools.base import ToolCallLimits
from taskline.tools.files import READ_FILE
from taskline.tools.output import cap_text
from taskline.tools.registry import builtin_tools
from tests.engine.scripting import calls, scripted, submit, tool_results
from tests.tools.helpers import call

ASKED = 1_000
# Each call yields to the event loop this often while it counts itself as running, so
# every call the bound lets in is in at the same time as the others.
YIELDS_PER_CALL = 20


class CountingTool:
    """A tool that counts how many of its calls are running at once, with a real counter."""

    name = "count"
    description = "Count yourself."
    parameters: dict[str, Any] = {"type": "object", "properties": {}}  # noqa: RUF012

    def __init__(self) -> None:
        self.running = 0
        self.most_running = 0
        self.runs = 0

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolResult:
        self.running += 1
        self.runs += 1
        self.most_running = max(self.most_running, self.running)
        try:
            for _ in range(YIELDS_PER_CALL):
                await asyncio.sleep(0)
        finally:
            self.running -= 1
        return ToolResult(output="counted", duration_ms=0)


def run_turn_of(tl: Taskline, home: Path, limits: ToolCallLimits) -> tuple[CountingTool, Any]:
    counter = CountingTool()

    def tools(allowed: Any) -> list[Tool]:
        return [counter, *builtin_tools(["submit_work"])]

    factory, [model] = scripted([calls(*[("count", {})] * ASKED), submit("counted")])
    executor = Executor(
        tl.store, home, model_factory=factory, tool_calls=limits, tool_factory=tools
    )
    task = tl.create_task("Count")
    tl.assign(task.id, "coder")
    done = asyncio.run(executor.run_task(task.id))
    assert done.status is Status.COMPLETED
    return counter, tool_results(model.calls[1])


def test_a_thousand_calls_in_one_turn_run_64_at_most_8_at_once(
    tl: Taskline, tmp_path: Path
) -> None:
    counter, results = run_turn_of(tl, tmp_path / "home", ToolCallLimits())

    assert counter.runs == 64
    assert counter.most_running == 8
    assert [(r.content, r.is_error) for r in results] == [("counted", False)] * 64 + [
        (
            "not run: this turn asked for 1000 tool calls and at most 64 run per turn"
            " (max_tool_calls_per_turn); ask for fewer at once",
            True,
        )
    ] * 936


def test_the_limits_come_from_the_config(tl: Taskline, tmp_path: Path) -> None:
    tl.config = Config(defaults=Defaults(max_parallel_tool_calls=3, max_tool_calls_per_turn=10))
    limits = tl.executor().tool_calls

    counter, results = run_turn_of(tl, tmp_path / "home", limits)

    assert limits == ToolCallLimits(max_parallel=3, max_per_turn=10)
    assert (counter.runs, counter.most_running) == (10, 3)
    assert [r.is_error for r in results] == [False] * 10 + [True] * 990
    assert results[-1].content == (
        "not run: this turn asked for 1000 tool calls and at most 10 run per turn"
        " (max_tool_calls_per_turn); ask for fewer at once"
    )


def test_the_defaults_are_8_at_once_and_64_per_turn(tl: Taskline) -> None:
    assert tl.executor().tool_calls == ToolCallLimits(max_parallel=8, max_per_turn=64)
    assert (Defaults().max_parallel_tool_calls, Defaults().max_tool_calls_per_turn) == (8, 64)


def test_an_error_result_is_capped_like_an_output(tmp_path: Path) -> None:
    path = "../" + "x" * 100_000
    context = ToolContext(workspace=Workspace(tmp_path), max_output_bytes=1_000)

    result = call(READ_FILE, {"path": path}, context)

    assert result.is_error
    assert result.output == cap_text(f"path {path!r} is outside the workspace", 1_000)
    assert "bytes cut ...]" in result.output
