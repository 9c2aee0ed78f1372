"""What `taskline mcp list` shows of each configured server: a value, light to import.

`Taskline.mcp_servers` returns these, and they are part of the public API; the
listing itself (`toolset.report_servers`) needs the MCP SDK, which is loaded only
when a listing is made.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class ListedTool(BaseModel):
    """One tool of a server, as `taskline mcp list` shows it."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    name: str
    """Name the model calls it by: `{server}__{tool}`."""
    tool: str
    """The server's own name, used in allow-lists."""
    description: str
    """The server's description."""


class ServerReport(BaseModel):
    """A configured server: how it is reached, whether it starts, and its tools."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    name: str
    """The `[mcp.NAME]` table."""
    transport: Literal["stdio", "http"]
    """`stdio` (a command) or `http` (a URL)."""
    target: str
    """The command line or the URL."""
    env: tuple[str, ...]
    """Names of the variables a stdio server gets."""
    headers: tuple[str, ...]
    """Names of the headers sent to an HTTP server; their values are never shown."""
    started: bool
    """Whether it started and listed its tools."""
    error: str | None
    """Why it did not start, in one line."""
    tools: tuple[ListedTool, ...]
    """Its tools, when it started."""
