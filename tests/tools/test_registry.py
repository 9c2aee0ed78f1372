"""Choosing an agent's tools and running a turn's calls, concurrently and without raising."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from taskline.errors import InvalidValueError
from taskline.llm.types import ToolCall, ToolDefinition
from taskline.protocols import Tool
from taskline.tools import ToolContext, ToolResult, Workspace
from taskline.tools.registry import builtin_tools, run_tool_calls, tool_definitions

ALL = ["list_dir", "read_file", "write_file", "edit_file", "run_command", "submit_work"]


def names(tools: list[Tool]) -> list[str]:
    return [tool.name for tool in tools]


def run_calls(calls: list[ToolCall], tools: list[Tool], context: ToolContext) -> list[ToolResult]:
    return asyncio.run(run_tool_calls(calls, tools, context))


def test_all_tools_when_nothing_is_said() -> None:
    assert names(builtin_tools(None)) == ALL


def test_the_allowed_tools_in_order_and_always_submit_work() -> None:
    assert names(builtin_tools(["run_command", "read_file"])) == [
        "run_command",
        "read_file",
        "submit_work",
    ]
    assert names(builtin_tools(["submit_work", "list_dir", "list_dir"])) == [
        "submit_work",
        "list_dir",
    ]
    assert names(builtin_tools([])) == ["submit_work"]


def test_an_unknown_tool_name_is_refused() -> None:
    with pytest.raises(InvalidValueError) as caught:
        builtin_tools(["read_file", "browse"])

    assert str(caught.value) == (
        "unknown tool 'browse'; built-in tools: list_dir, read_file, write_file, edit_file,"
        " run_command, submit_work"
    )


def test_every_unknown_tool_name_is_named() -> None:
    with pytest.raises(InvalidValueError) as caught:
        builtin_tools(["browse", "email"])

    assert str(caught.value).startswith("unknown tools 'browse', 'email'; built-in tools: ")


def test_tool_definitions_are_what_the_model_is_offered() -> None:
    [definition] = tool_definitions(builtin_tools([]))

    assert definition == ToolDefinition(
        name="submit_work",
        description=(
            "Finish the task: call this once the work is done and meets the acceptance"
            " criteria, with a summary of what was done. It ends your work on the task."
        ),
        parameters={
            "type": "object",
            "properties": {
                "summary": {
                    "type": "string",
                    "description": "What was done, where the results are and anything the reviewer should know.",
                }
            },
            "required": ["summary"],
            "additionalProperties": False,
        },
    )


def test_results_come_in_the_order_of_the_calls(context: ToolContext, workspace_dir: Path) -> None:
    calls = [
        ToolCall(id="1", name="write_file", arguments={"path": "a.txt", "content": "hi\n"}),
        ToolCall(id="2", name="run_command", arguments={"command": "sleep 0.2; echo late"}),
        ToolCall(id="3", name="list_dir", arguments={}),
        ToolCall(id="4", name="submit_work", arguments={"summary": "done"}),
    ]

    results = run_calls(calls, builtin_tools(None), context)

    assert [(r.output, r.is_error, r.submission) for r in results] == [
        ("wrote 3 bytes to a.txt", False, None),
        ("late\n[exit code 0]", False, None),
        ("a.txt (3 bytes)", False, None),
        ("work submitted for review", False, "done"),
    ]


@dataclass
class MeetingTool:
    """A tool whose calls each wait for all the others to be inside it at the same time.

    Run one after the other, the first call waits in vain and fails after a minute.
    """

    expected: int
    name: str = "meet"
    description: str = "Waits until every call has arrived."
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    arrived: int = 0
    everyone_here: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolResult:
        self.arrived += 1
        if self.arrived == self.expected:
            self.everyone_here.set()
        async with asyncio.timeout(60):
            await self.everyone_here.wait()
        return ToolResult(output=f"met {self.arrived}", duration_ms=0)


def test_calls_run_concurrently(context: ToolContext) -> None:
    meeting = MeetingTool(expected=2)
    calls = [ToolCall(id=str(n), name="meet", arguments={}) for n in range(2)]

    results = run_calls(calls, [meeting], context)

    assert [(r.output, r.is_error) for r in results] == [("met 2", False)] * 2


def test_a_tool_the_agent_may_not_use_is_an_error(
    context: ToolContext, workspace_dir: Path
) -> None:
    calls = [
        ToolCall(id="1", name="write_file", arguments={"path": "a.txt", "content": "x"}),
        ToolCall(id="2", name="teleport", arguments={}),
    ]

    results = run_calls(calls, builtin_tools(["read_file"]), context)

    assert [(r.output, r.is_error) for r in results] == [
        ("unknown tool 'write_file'; available: read_file, submit_work", True),
        ("unknown tool 'teleport'; available: read_file, submit_work", True),
    ]
    assert not (workspace_dir / "a.txt").exists()


@dataclass(frozen=True)
class BrokenTool:
    """A tool from outside taskline that raises instead of returning an error result."""

    name: str = "broken"
    description: str = "Always raises."
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object"})

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolResult:
        raise RuntimeError("it broke")


def test_a_tool_that_raises_gives_an_error_result(context: ToolContext) -> None:
    tools: list[Tool] = [BrokenTool(), *builtin_tools([])]
    calls = [
        ToolCall(id="1", name="broken", arguments={}),
        ToolCall(id="2", name="submit_work", arguments={"summary": "done"}),
    ]

    results = run_calls(calls, tools, context)

    assert [(r.output, r.is_error) for r in results] == [
        ("broken failed: RuntimeError: it broke", True),
        ("work submitted for review", False),
    ]


def test_the_context_refuses_limits_that_cannot_work(workspace_dir: Path) -> None:
    workspace = Workspace(workspace_dir)

    with pytest.raises(InvalidValueError) as caught:
        ToolContext(workspace=workspace, command_timeout_seconds=0)
    assert str(caught.value) == "command_timeout_seconds must be greater than 0, not 0"

    with pytest.raises(InvalidValueError) as caught:
        ToolContext(workspace=workspace, max_output_bytes=1)
    assert str(caught.value) == "max_output_bytes must be at least 2, not 1"
