"""The tools an agent calls to work in its task's workspace.

    result     ToolResult, and ToolFailure: a problem reported to the model as a result
    base       ToolContext, and BuiltinTool: checked arguments, errors as results
    workspace  the workspace directory, and the rule that paths stay inside it
    sandbox    where commands run: bubblewrap, with limits
    output     keeping output within a budget, saying how much was cut
    files      list_dir, read_file, write_file, edit_file
    shell      run_command: bash in the workspace, with a time limit and no secrets
    submit     submit_work: the agent's completion summary
    registry   builtin_tools(allowed), tool_definitions(tools), run_tool_calls(calls, tools, ctx)

Every tool satisfies `taskline.protocols.Tool`; a problem is returned as an
error result for the model to read, never raised.

The package itself exports only what a tool is given and gives back, the values
`taskline.protocols.Tool` names. The registry of built-in tools is imported from
`taskline.tools.registry`: it runs whatever satisfies `taskline.protocols.Tool`,
so exporting it here would be an import cycle.
"""

from taskline.tools.base import ToolContext
from taskline.tools.result import ToolResult
from taskline.tools.workspace import Workspace

__all__ = ["ToolContext", "ToolResult", "Workspace"]
