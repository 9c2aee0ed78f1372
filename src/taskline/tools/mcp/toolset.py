"""The MCP servers of one run, and the listing `taskline mcp list` prints.

A run starts every server its agent may use before its first turn, all at
once, and stops them when it ends, however it ends: `run_tools` is an async
context manager around the run. A server that does not start, or an
allow-list naming a tool the server does not have, stops the run before it
begins with one error naming the server and the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from mcp import types as mcp_types

from taskline.errors import McpServerError
from taskline.models import McpGrant
from taskline.tools.mcp.config import McpServerConfig, check_grants
from taskline.tools.mcp.connection import McpConnection
from taskline.tools.mcp.report import ListedTool, ServerReport
from taskline.tools.mcp.tool import McpTool, model_names
from taskline.tools.sandbox import Sandbox


@asynccontextmanager
async def run_tools(
    grants: Sequence[McpGrant],
    servers: Mapping[str, McpServerConfig],
    *,
    workspace: Path,
    sandbox: Sandbox,
) -> AsyncIterator[list[McpTool]]:
    """The tools `grants` give, their servers running until the block ends.

    Raises `ConfigError` for a server not declared, `McpServerError` for one that
    did not start or lacks an allow-listed tool; nothing is left running then.
    """
    check_grants(grants, servers)
    connections = [
        McpConnection(g.server, servers[g.server], workspace=workspace, sandbox=sandbox)
        for g in grants
    ]
    try:
        listed = await asyncio.gather(*(c.start() for c in connections), return_exceptions=True)
        tools: list[McpTool] = []
        for grant, connection, offered in zip(grants, connections, listed, strict=True):
            if isinstance(offered, BaseException):
                raise offered
            tools += _granted(grant, connection, offered)
        yield tools
    finally:
        await asyncio.gather(*(c.close() for c in connections))


def _granted(
    grant: McpGrant, connection: McpConnection, offered: list[mcp_types.Tool]
) -> list[McpTool]:
    by_name = {tool.name: tool for tool in offered}
    if grant.tools is not None:
        missing = [name for name in grant.tools if name not in by_name]
        if missing:
            raise McpServerError(
                grant.server,
                f"has no tool {missing[0]!r}, which the agent's allow-list names;"
                f" its tools: {', '.join(by_name) or 'none'}",
            )
    names = model_names(grant.server, list(by_name))
    chosen = list(by_name) if grant.tools is None else list(grant.tools)
    return [McpTool.offered(names[name], by_name[name], connection) for name in chosen]


async def report_servers(
    servers: Mapping[str, McpServerConfig], *, workspace: Path, sandbox: Sandbox
) -> list[ServerReport]:
    """Start each server (all at once), list its tools and stop it: one report each, by name."""
    names = sorted(servers)
    reports = await asyncio.gather(
        *(_report(n, servers[n], workspace=workspace, sandbox=sandbox) for n in names)
    )
    return list(reports)


async def _report(
    name: str, config: McpServerConfig, *, workspace: Path, sandbox: Sandbox
) -> ServerReport:
    connection = McpConnection(name, config, workspace=workspace, sandbox=sandbox)
    error = None
    tools: tuple[ListedTool, ...] = ()
    try:
        offered = await connection.start()
        names = model_names(name, [tool.name for tool in offered])
        tools = tuple(
            ListedTool(
                name=names[tool.name],
                tool=tool.name,
                description=McpTool.offered(names[tool.name], tool, connection).description,
            )
            for tool in offered
        )
    except McpServerError as exc:
        error = str(exc)
    finally:
        await connection.close()
    return ServerReport(
        name=name,
        transport=config.transport,
        target=config.target,
        env=config.env,
        headers=tuple(config.headers),
        started=error is None,
        error=error,
        tools=tools,
    )
