"""One MCP server for the length of a run: started, called, restarted after it died, stopped.

Each start of the server is held open by a task of its own (`_Live`): the SDK's
client must be entered and left in one task, and a connection that breaks must
not take the run's own task down with it. A call that finds the server gone
(it exited, the HTTP server went away) gets an error saying so, and the next call
starts it again; while it cannot be started, every call gets an error saying
why. A call that gets no answer within the server's `timeout_seconds` gets an
error too, and the server keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TextIO

import httpx2
from mcp import Client, MCPError
from mcp import types as mcp_types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CONNECTION_CLOSED, REQUEST_TIMEOUT, CallToolResult
from pydantic import ValidationError

from taskline.errors import McpServerError
from taskline.tools.mcp.config import McpServerConfig, resolved_headers
from taskline.tools.mcp.launch import ProcessGroup, stdio_parameters
from taskline.tools.pids_cgroup import PidsCgroup
from taskline.tools.sandbox import Sandbox
from taskline.version import __version__

# A server whose tool list never ends must not hang the start.
MAX_TOOL_PAGES = 100
# Enough of a server's stderr to find the line that says why it stopped.
STDERR_TAIL_BYTES = 4000
CLIENT_INFO = mcp_types.Implementation(name="taskline", version=__version__)
# The SDK's own HTTP timeouts: a server may hold a response stream open for long.
HTTP_TIMEOUT = httpx2.Timeout(30.0, read=300.0)
# How often an abandoned start's process group is killed until the start has ended.
ABANDONED_KILL_INTERVAL_SECONDS = 0.2

Opener = Callable[[AsyncExitStack, TextIO | None, ProcessGroup | None], Awaitable[Client]]


class McpConnection:
    """The connection to one server: `start`, then `call` any number of times, then `close`."""

    def __init__(
        self, name: str, config: McpServerConfig, *, workspace: Path, sandbox: Sandbox
    ) -> None:
        self.name = name
        self.config = config
        self._workspace = workspace
        self._sandbox = sandbox
        self._live: _Live | None = None
        self._lock = asyncio.Lock()  # parallel calls restart a dead server once, not each
        # The SDK answers an HTTP error with a message that does not say which; this does.
        self._http_error: str | None = None

    async def start(self) -> list[mcp_types.Tool]:
        """Start the server and list its tools; `McpServerError` saying why it did not start."""
        async with self._lock:
            self._live = await self._begin()
            return self._live.tools

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        """Call `tool`; `McpServerError` when the server is down, broke, refused or is too slow."""
        live = await self._running()
        try:
            return await live.client.call_tool(
                tool, arguments, read_timeout_seconds=self.config.timeout_seconds
            )
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                raise McpServerError(
                    self.name,
                    f"did not answer {tool} within {self.config.timeout_seconds:g} s"
                    " (timeout_seconds)",
                ) from exc
            if exc.code != CONNECTION_CLOSED:
                raise McpServerError(self.name, f"refused the call: {exc.message}") from exc
            reason = exc.message.lower()
        except ValidationError as exc:
            raise McpServerError(
                self.name, f"answered {tool} with a result that is not valid MCP: {describe(exc)}"
            ) from exc
        except Exception as exc:  # the transport broke under the call
            reason = describe(exc)
        live.broken = True
        raise McpServerError(
            self.name,
            f"stopped during the call ({reason}{live.last_words()}); the next call restarts it",
        )

    async def close(self) -> None:
        """Stop the server (a stdio server's process ends) and close the connection."""
        async with self._lock:
            if self._live is not None:
                await self._live.finish()
                self._live = None

    async def _running(self) -> _Live:
        async with self._lock:
            if self._live is not None and not self._live.stopped:
                return self._live
            if self._live is not None:
                await self._live.finish()
                self._live = None
            try:
                self._live = await self._begin()
            except McpServerError as exc:
                raise McpServerError(self.name, f"is down: it {exc.reason}") from exc
            return self._live

    async def _begin(self) -> _Live:
        self._http_error = None
        stderr = None
        group = None
        if self.config.command is not None:
            stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
            group = ProcessGroup()
        live = _Live(self._open, stderr, group)
        try:
            async with asyncio.timeout(self.config.start_timeout_seconds):
                await asyncio.shield(live.ready)
        except TimeoutError:
            words = live.last_words()
            await live.finish()
            raise McpServerError(
                self.name,
                f"did not start: no answer within {self.config.start_timeout_seconds:g} s"
                f" (start_timeout_seconds){words}",
            ) from None
        except McpServerError:
            await live.finish()
            raise
        except Exception as exc:
            words = live.last_words()
            await live.finish()
            status = f" ({self._http_error})" if self._http_error else ""
            raise McpServerError(
                self.name, f"did not start: {describe(exc)}{status}{words}"
            ) from None
        except BaseException:  # cancelled while it started: the run is ending
            await live.finish()
            raise
        return live

    async def _open(
        self, stack: AsyncExitStack, stderr: TextIO | None, group: ProcessGroup | None
    ) -> Client:
        """Enter the transport and the client on `stack`: the server runs until it closes."""
        if self.config.command is not None:
            cgroup = None
            if self._sandbox.settings.mode == "bubblewrap":
                cgroup = PidsCgroup.create(self._sandbox.settings.max_processes)
            if cgroup is not None:
                stack.push_async_callback(cgroup.remove)  # after the server is gone
            assert stderr is not None
            assert group is not None
            parameters = stdio_parameters(
                self.name, self.config, self._workspace, self._sandbox, group, cgroup
            )
            transport = stdio_client(parameters, errlog=stderr)
        else:
            assert self.config.url is not None
            headers = resolved_headers(self.name, self.config)
            hooks = {"response": [self._note_http_error]}
            http = await stack.enter_async_context(
                httpx2.AsyncClient(headers=headers, timeout=HTTP_TIMEOUT, event_hooks=hooks)
            )
            transport = streamable_http_client(self.config.url, http_client=http)
        client = Client(transport, client_info=CLIENT_INFO, cache=None)
        return await stack.enter_async_context(client)

    async def _note_http_error(self, response: httpx2.Response) -> None:
        if response.status_code >= 400:
            self._http_error = f"HTTP {response.status_code} {response.reason_phrase}".strip()


class _Live:
    """One start of a server, held open by a task of its own until `finish`."""

    def __init__(self, opener: Opener, stderr: TextIO | None, group: ProcessGroup | None) -> None:
        self._opener = opener
        self._stderr = stderr
        self._group = group
        self._stop = asyncio.Event()
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.client: Client
        self.tools: list[mcp_types.Tool] = []
        self.broken = False
        """Set when a call found the connection gone."""
        self._task = asyncio.create_task(self._hold())

    @property
    def stopped(self) -> bool:
        """Whether the connection is gone: broken under a call, or ended by itself."""
        return self.broken or self._task.done()

    async def _hold(self) -> None:
        try:
            async with AsyncExitStack() as stack:
                self.client = await self._opener(stack, self._stderr, self._group)
                self.tools = await _list_tools(self.client)
                self.ready.set_result(None)
                await self._stop.wait()
        except Exception as exc:
            if not self.ready.done():
                self.ready.set_exception(exc)

    async def finish(self) -> None:
        """End the connection, stopping the server; return once it is stopped."""
        self._stop.set()
        starting = not self.ready.done()
        if starting or self.ready.exception() is not None:
            self._task.cancel()  # still starting: nothing waits on the stop event yet
        while starting and self._group is not None:
            # A cancel that lands while the server is being spawned kills that one process
            # (asyncio does, before the SDK has it to stop): a sandbox it had begun to make
            # lives on, holding the pipes the cancelled spawn waits to see closed.
            if (await asyncio.wait([self._task], timeout=ABANDONED_KILL_INTERVAL_SECONDS))[0]:
                break
            self._group.kill()
        await asyncio.wait([self._task])
        if not self.ready.done():
            self.ready.cancel()
        elif not self.ready.cancelled():
            self.ready.exception()  # retrieved: asyncio must not report it as lost
        if self._stderr is not None:
            self._stderr.close()
        if self._group is not None:
            self._group.forget()

    def last_words(self) -> str:
        """`; stderr: LINE` with the server's last line on stderr, if it wrote one."""
        if self._stderr is None or self._stderr.closed:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.flush()
            size = self._stderr.seek(0, 2)
            self._stderr.seek(max(size - STDERR_TAIL_BYTES, 0))
            lines = [line.strip() for line in self._stderr.read().splitlines() if line.strip()]
            if lines:
                return f"; stderr: {lines[-1]}"
        return ""


async def _list_tools(client: Client) -> list[mcp_types.Tool]:
    tools: list[mcp_types.Tool] = []
    cursor = None
    for _ in range(MAX_TOOL_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools += page.tools
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def describe(exc: BaseException) -> str:
    """One line for a failure of the SDK or the transport (the first of a group)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, httpx2.TransportError):
        return f"cannot connect to {_url_of(exc)}: {exc}"
    if isinstance(exc, MCPError):
        return exc.message.lower() if exc.code == CONNECTION_CLOSED else exc.message
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _url_of(exc: httpx2.TransportError) -> str:
    try:
        return str(exc.request.url)
    except RuntimeError:  # raised before a request was made
        return "the server"
