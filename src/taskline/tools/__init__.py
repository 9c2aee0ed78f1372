"""The tools an agent calls to work in its task's workspace.

    base       ToolResult, ToolContext, and BuiltinTool: checked arguments, errors as results
    workspace  the workspace directory, and the rule that paths stay inside it
    output     keeping output within a budget, saying how much was cut
    files      list_dir, read_file, write_file, edit_file
    shell      run_command: bash in the workspace, with a time limit and no secrets
    submit     submit_work: the agent's completion summary
    registry   builtin_tools(allowed), tool_definitions(tools), run_tool_calls(calls, tools, ctx)

Every tool satisfies `taskline.protocols.Tool`; a problem is returned as an
error result for the model to read, never raised.
"""

from taskline.tools.base import ToolContext, ToolResult
from taskline.tools.registry import (
    BUILTIN_TOOLS,
    ToolCallRequest,
    builtin_tools,
    run_tool_calls,
    tool_definitions,
)
from taskline.tools.workspace import Workspace

__all__ = [
    "BUILTIN_TOOLS",
    "ToolCallRequest",
    "ToolContext",
    "ToolResult",
    "Workspace",
    "builtin_tools",
    "run_tool_calls",
    "tool_definitions",
]
