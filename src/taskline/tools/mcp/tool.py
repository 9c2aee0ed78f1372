"""An MCP server's tool as the model sees it: `{server}__{tool}`, its description and schema.

Providers accept tool names of 1-64 letters, digits, '_' and '-' (OpenAI's and
Anthropic's rule). A server may name a tool otherwise (`files.read`, or a name
longer than the rule allows once the server's name is in front): every other
character becomes '_', and a name still too long, or one that two tools would
share, is cut and ends with 8 hex digits of the tool's own name. `taskline mcp
list` shows both names; allow-lists use the server's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mcp import types as mcp_types

from taskline.errors import McpServerError
from taskline.models import MCP_SEPARATOR
from taskline.tools.base import ToolContext
from taskline.tools.mcp.connection import McpConnection
from taskline.tools.output import cap_text
from taskline.tools.result import ToolResult

MAX_NAME_CHARS = 64
NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_-]")
HASH_CHARS = 8


def model_names(server: str, tools: Sequence[str]) -> dict[str, str]:
    """The name the model calls each of `server`'s `tools` by, keyed by the server's name."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for tool in tools:
        name = f"{server}{MCP_SEPARATOR}{NOT_ALLOWED.sub('_', tool)}"
        if len(name) > MAX_NAME_CHARS or name in taken:
            digest = hashlib.sha256(tool.encode()).hexdigest()[:HASH_CHARS]
            name = f"{name[: MAX_NAME_CHARS - HASH_CHARS - 1]}_{digest}"
        names[tool] = name
        taken.add(name)
    return names


@dataclass(frozen=True)
class McpTool:
    """One tool of an MCP server; satisfies `taskline.protocols.Tool`."""

    name: str
    """Name the model calls it by: `{server}__{tool}`."""
    description: str
    """The server's description of the tool."""
    parameters: dict[str, Any]
    """The server's JSON Schema of the arguments."""
    tool: str
    """The server's own name of the tool."""
    connection: McpConnection
    """The server it runs on."""

    @classmethod
    def offered(cls, name: str, tool: mcp_types.Tool, connection: McpConnection) -> McpTool:
        """The tool as the server listed it, under the model's `name` for it."""
        description = tool.description or tool.title or f"{tool.name} of MCP server"
        return cls(
            name=name,
            description=description.strip(),
            parameters=dict(tool.input_schema),
            tool=tool.name,
            connection=connection,
        )

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolResult:
        """Call the tool on its server; a failure of any kind is an error result."""
        started = time.perf_counter()
        try:
            result = await self.connection.call(self.tool, arguments)
            output, is_error = result_text(result), result.is_error
        except McpServerError as exc:
            output, is_error = str(exc), True
        return ToolResult(
            output=cap_text(output, context.max_output_bytes),
            is_error=is_error,
            duration_ms=(time.perf_counter() - started) * 1000,
        )


def result_text(result: mcp_types.CallToolResult) -> str:
    """What the model reads of a result: its text, with a note for each non-text part."""
    parts = [_content_text(block) for block in result.content]
    if not parts and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False)
    return "\n".join(parts)


def _content_text(block: mcp_types.ContentBlock) -> str:
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, (mcp_types.ImageContent, mcp_types.AudioContent)):
        return f"[{block.type} {block.mime_type}, {_decoded_size(block.data)} bytes]"
    if isinstance(block, mcp_types.ResourceLink):
        return f"[resource {block.uri}]"
    contents = block.resource
    if isinstance(contents, mcp_types.TextResourceContents):
        return contents.text
    mime = f" {contents.mime_type}," if contents.mime_type else ""
    return f"[resource {contents.uri},{mime} {_decoded_size(contents.blob)} bytes]"


def _decoded_size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return len(data)
