"""A Streamable HTTP MCP server built with the SDK, served by uvicorn on 127.0.0.1.

It answers only requests carrying `Authorization: Bearer <token>`, so a test can
show that header values reach the server from the environment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from taskline.testing.ports import free_port

START_TIMEOUT_SECONDS = 30.0


def build_server() -> MCPServer:
    server = MCPServer("http-test")

    @server.tool(description="Add two integers.", structured_output=False)
    def add(a: int, b: int) -> str:
        return str(a + b)

    @server.tool(description="Answer with the text given.", structured_output=False)
    def echo(text: str) -> str:
        return f"echo over http: {text}"

    return server


class RequireBearer:
    """Refuses with 401 every HTTP request without the expected bearer token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != (
            self.expected
        ):
            await PlainTextResponse("unauthorized", status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class HttpMcpServer:
    """The server in a thread of the test process; `stop` ends it (and its sessions)."""

    def __init__(self, token: str) -> None:
        app: Any = RequireBearer(build_server().streamable_http_app(), token)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", ws="none",
            timeout_graceful_shutdown=1,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="mcp-http", daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the MCP test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(START_TIMEOUT_SECONDS)


@contextmanager
def http_mcp_server(token: str) -> Iterator[HttpMcpServer]:
    """A running server that wants `token`; stopped when the block ends."""
    server = HttpMcpServer(token)
    server.start()
    try:
        yield server
    finally:
        server.stop()
