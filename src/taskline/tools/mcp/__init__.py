"""Tools from Model Context Protocol servers, called like the built-in ones.

    config      the `[mcp.NAME]` tables: a command (stdio) or a URL (Streamable HTTP)
    launch      a stdio server's command line: in the sandbox, with only its variables
    connection  one server for a run: started, called with a time limit, restarted, stopped
    tool        a server's tool as the model sees it (`{server}__{tool}`), its results as text
    toolset     the servers of one run (`run_tools`), and `report_servers` for `taskline mcp list`
    report      what that listing shows of a server: `ServerReport`

An MCP tool satisfies `taskline.protocols.Tool`: the run loop calls it, records
it and checkpoints it exactly as it does a built-in tool.

Only `config` and `report` are imported with the package: the `mcp` SDK (about
0.4 s to import) is loaded when a run or `taskline mcp list` first needs it, not
by every command.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from taskline.tools.mcp.config import McpServerConfig, check_grants
from taskline.tools.mcp.report import ListedTool, ServerReport

if TYPE_CHECKING:
    from taskline.tools.mcp.tool import McpTool
    from taskline.tools.mcp.toolset import report_servers, run_tools

_LAZY = {
    "McpTool": "taskline.tools.mcp.tool",
    "report_servers": "taskline.tools.mcp.toolset",
    "run_tools": "taskline.tools.mcp.toolset",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ListedTool",
    "McpServerConfig",
    "McpTool",
    "ServerReport",
    "check_grants",
    "report_servers",
    "run_tools",
]
