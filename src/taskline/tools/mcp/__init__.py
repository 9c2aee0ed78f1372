"""Tools from Model Context Protocol servers, called like the built-in ones.

    config      the `[mcp.NAME]` tables: a command (stdio) or a URL (Streamable HTTP)
    launch      a stdio server's command line: in the sandbox, with only its variables
    connection  one server for a run: started, called with a time limit, restarted, stopped
    tool        a server's tool as the model sees it (`{server}__{tool}`), its results as text
    toolset     the servers of one run (`run_tools`), and `report_servers` for `taskline mcp list`

An MCP tool satisfies `taskline.protocols.Tool`: the run loop calls it, records
it and checkpoints it exactly as it does a built-in tool.
"""

from taskline.tools.mcp.config import McpServerConfig
from taskline.tools.mcp.tool import McpTool
from taskline.tools.mcp.toolset import ServerReport, check_grants, report_servers, run_tools

__all__ = [
    "McpServerConfig",
    "McpTool",
    "ServerReport",
    "check_grants",
    "report_servers",
    "run_tools",
]
