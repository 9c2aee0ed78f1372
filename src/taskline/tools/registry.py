"""Which tools an agent gets, and running the calls a model asked for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from taskline.errors import InvalidValueError, bounded
from taskline.llm.types import ToolDefinition
from taskline.protocols import Tool
from taskline.tools.base import BuiltinTool, ToolContext
from taskline.tools.files import EDIT_FILE, LIST_DIR, READ_FILE, WRITE_FILE
from taskline.tools.result import ToolResult
from taskline.tools.shell import RUN_COMMAND
from taskline.tools.submit import SUBMIT_WORK

BUILTIN_TOOLS: tuple[BuiltinTool[Any], ...] = (
    LIST_DIR,
    READ_FILE,
    WRITE_FILE,
    EDIT_FILE,
    RUN_COMMAND,
    SUBMIT_WORK,
)


class ToolCallRequest(Protocol):
    """One call a model asked for; `taskline.llm.types.ToolCall` is one."""

    @property
    def id(self) -> str:
        """The provider's id for the call."""
        ...

    @property
    def name(self) -> str:
        """Name of the tool to run."""
        ...

    @property
    def arguments(self) -> dict[str, Any]:
        """Arguments, decoded from the JSON the model wrote."""
        ...

    @property
    def arguments_error(self) -> str | None:
        """Why the arguments could not be read; None when they could."""
        ...


def builtin_tools(allowed: Sequence[str] | None = None) -> list[Tool]:
    """The built-in tools named in `allowed`, in that order; all of them when it is None.

    `submit_work` is always included: without it an agent has no way to finish.
    Raises `InvalidValueError` when `allowed` names a tool that does not exist.
    """
    if allowed is None:
        return list(BUILTIN_TOOLS)
    by_name = {tool.name: tool for tool in BUILTIN_TOOLS}
    unknown = [name for name in allowed if name not in by_name]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise InvalidValueError(
            f"unknown tool{plural} {', '.join(repr(name) for name in unknown)};"
            f" built-in tools: {', '.join(by_name)}"
        )
    names = dict.fromkeys([*allowed, SUBMIT_WORK.name])
    return [by_name[name] for name in names]


def tool_definitions(tools: Sequence[Tool]) -> list[ToolDefinition]:
    """The tools as the model is offered them."""
    return [
        ToolDefinition(name=tool.name, description=tool.description, parameters=tool.parameters)
        for tool in tools
    ]


async def run_tool_calls(
    calls: Sequence[ToolCallRequest], tools: Sequence[Tool], context: ToolContext
) -> list[ToolResult]:
    """Run `calls` concurrently with `tools`; one result per call, in the order of `calls`.

    A call of a tool that is not in `tools` gets an error result, as do a call
    whose arguments could not be read and a tool that raised instead of
    returning one: the model reads it and the run goes on. Cancelling the caller cancels every call.
    """
    by_name = {tool.name: tool for tool in tools}
    if len(calls) == 1:  # the common turn: no task to spawn and gather
        return [await _run_call(calls[0], by_name, context)]
    results = await asyncio.gather(*(_run_call(call, by_name, context) for call in calls))
    return list(results)


async def _run_call(
    call: ToolCallRequest, tools: Mapping[str, Tool], context: ToolContext
) -> ToolResult:
    started = time.perf_counter()
    tool = tools.get(call.name)
    malformed = True
    if tool is None:
        output = f"unknown tool {call.name!r}; available: {', '.join(sorted(tools))}"
    elif call.arguments_error is not None:
        output = (
            f"the arguments of {call.name} could not be read: {call.arguments_error};"
            " send them again as one JSON object"
        )
    else:
        try:
            return await tool.run(call.arguments, context)
        except Exception as exc:  # a tool outside taskline broke its promise not to raise
            output = f"{call.name} failed: {type(exc).__name__}: {exc}"
            malformed = False
    return ToolResult(
        output=bounded(output),
        is_error=True,
        duration_ms=(time.perf_counter() - started) * 1000,
        malformed=malformed,
    )
