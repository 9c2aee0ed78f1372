"""A model provider on loopback that replays scripted answers, for tests and benchmarks.

It speaks the OpenAI chat-completions wire format (`POST /v1/chat/completions`)
and Anthropic's messages format (`POST /v1/messages`), so the real SDK clients
talk to it exactly as they would to the real services:

    with ProviderServer() as server:
        server.enqueue(Reply.error(429, retry_after_seconds=1), Reply.text("hello"))
        model = OpenAICompatModel("gpt-4o-mini", base_url=server.openai_base_url, api_key="k")
        ...
        assert server.requests[0].body["model"] == "gpt-4o-mini"

Each request takes the next queued reply (or `default` when the queue is
empty). Replies are written in one provider-neutral form and rendered in the
wire format of the endpoint that was called.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

from taskline.llm.types import ToolCall, Usage

Api = Literal["openai", "anthropic"]
PATHS: dict[str, Api] = {
    "/v1/chat/completions": "openai",
    "/chat/completions": "openai",
    "/v1/messages": "anthropic",
}
MALFORMED_BODY = b'{"id": "broken", "choices": [{"message": {"content": "cut'


@dataclass(frozen=True)
class Reply:
    """One scripted answer; build it with the class methods."""

    kind: Literal["answer", "error", "raw", "drop"]
    content: str = ""
    """Text of an answer."""
    calls: tuple[ToolCall, ...] = ()
    """Tool calls of an answer."""
    usage: Usage = Usage()
    cost_usd: float | None = None
    """Cost to report in the OpenAI usage object, as OpenRouter does."""
    finish_reason: str | None = None
    """Finish (stop) reason to send instead of the one the content implies."""
    status_code: int = 200
    message: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    delay_seconds: float = 0.0
    """Wait before answering, on top of the server's latency (to provoke timeouts)."""

    @classmethod
    def text(cls, text: str, *, usage: Usage | None = None, cost_usd: float | None = None) -> Reply:
        """A plain text answer."""
        return cls("answer", content=text, usage=usage or Usage(), cost_usd=cost_usd)

    @classmethod
    def tool_calls(
        cls,
        *calls: ToolCall,
        text: str = "",
        usage: Usage | None = None,
        cost_usd: float | None = None,
    ) -> Reply:
        """An answer that calls tools, with optional text before the calls."""
        return cls("answer", content=text, calls=calls, usage=usage or Usage(), cost_usd=cost_usd)

    @classmethod
    def error(
        cls, status_code: int, message: str = "", *, retry_after_seconds: float | None = None
    ) -> Reply:
        """An error status in the provider's error format, with `Retry-After` when given."""
        headers = (
            () if retry_after_seconds is None else (("retry-after", f"{retry_after_seconds:g}"),)
        )
        return cls(
            "error",
            status_code=status_code,
            message=message or f"scripted HTTP {status_code}",
            headers=headers,
        )

    @classmethod
    def raw(cls, body: bytes | dict[str, Any], *, status_code: int = 200) -> Reply:
        """Exactly this body, as JSON content, whatever the endpoint."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return cls("raw", body=data, status_code=status_code)

    @classmethod
    def malformed(cls) -> Reply:
        """A 200 answer whose JSON body is cut off in the middle."""
        return cls.raw(MALFORMED_BODY)

    @classmethod
    def drop(cls) -> Reply:
        """Close the connection without answering."""
        return cls("drop")

    def after(self, delay_seconds: float) -> Reply:
        """This reply, sent only after `delay_seconds`."""
        return replace(self, delay_seconds=delay_seconds)


@dataclass(frozen=True)
class ReceivedRequest:
    """A request the server received, as it was sent."""

    api: Api | None
    """Which wire format the path belongs to; None for an unknown path."""
    path: str
    headers: dict[str, str]
    """Header names in lower case."""
    body: Any
    """The JSON body, decoded."""
    received_at: float = field(default_factory=time.time)


class ProviderServer:
    """The server: binds 127.0.0.1 on a free port, serves from a thread until stopped."""

    def __init__(self, *, latency_ms: float = 0.0, default: Reply | None = None) -> None:
        """`latency_ms` delays every answer; `default` answers when the queue is empty."""
        self.latency_ms = latency_ms
        self.default = default
        self._replies: deque[Reply] = deque()
        self._requests: list[ReceivedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ProviderServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving."""
        self._stopping.clear()
        self._httpd = _HttpServer(("127.0.0.1", 0), _Handler, provider=self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},  # stop() waits up to one interval
            name="provider-server",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, end slow answers and close every open connection."""
        if self._httpd is None or self._thread is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the client
        self._httpd.server_close()
        self._thread.join()
        self._httpd = self._thread = None

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        if self._httpd is None:
            raise RuntimeError("the provider server is not running")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def openai_base_url(self) -> str:
        """Base URL for the `openai` SDK."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Base URL for the `anthropic` SDK."""
        return self.url

    def enqueue(self, *replies: Reply) -> None:
        """Queue replies; each request takes the next one."""
        with self._lock:
            self._replies.extend(replies)

    @property
    def pending(self) -> int:
        """Replies queued and not sent yet."""
        with self._lock:
            return len(self._replies)

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every request received so far, in order."""
        with self._lock:
            return list(self._requests)

    def _next_reply(self, request: ReceivedRequest) -> Reply:
        with self._lock:
            self._requests.append(request)
            if self._replies:
                return self._replies.popleft()
        if self.default is not None:
            return self.default
        return Reply.error(500, "provider server: no reply queued")

    def _wait(self, seconds: float) -> bool:
        """Sleep unless the server stops first; True when it is stopping."""
        return seconds > 0 and self._stopping.wait(seconds)

    def _track(self, connection: socket.socket, *, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[_Handler], *, provider: ProviderServer
    ) -> None:
        self.provider = provider
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers serve the SDKs
    # headers and body go out in two writes; with Nagle's algorithm the second
    # waits for the client's delayed ACK, adding ~40 ms to every answer
    disable_nagle_algorithm = True
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        self.server.provider._track(self.connection, open_=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass  # the client went away first
        self.server.provider._track(self.connection, open_=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `requests` instead."""

    def do_POST(self) -> None:  # noqa: N802 - the name http.server looks up
        provider = self.server.provider
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        api = PATHS.get(self.path.split("?", 1)[0])
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = provider._next_reply(ReceivedRequest(api, self.path, headers, body))
        if provider._wait(provider.latency_ms / 1000 + reply.delay_seconds):
            return
        try:
            self._send(reply, api, body)
        except OSError:
            self.close_connection = True  # the client gave up waiting (its timeout)

    def _send(self, reply: Reply, api: Api | None, body: Any) -> None:
        if reply.kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if api is None:
            self._write(404, _error_body("openai", 404, f"no endpoint at {self.path}"), ())
        elif reply.kind == "raw":
            self._write(reply.status_code, reply.body, ())
        elif reply.kind == "error":
            self._write(
                reply.status_code, _error_body(api, reply.status_code, reply.message), reply.headers
            )
        else:
            model = body.get("model", "") if isinstance(body, dict) else ""
            rendered = (
                _openai_answer(reply, model) if api == "openai" else _anthropic_answer(reply, model)
            )
            self._write(200, json.dumps(rendered).encode(), ())

    def _write(self, status: int, payload: bytes, headers: Iterable[tuple[str, str]]) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _error_body(api: Api, status: int, message: str) -> bytes:
    kind = _ERROR_TYPES.get(status, "api_error")
    if api == "anthropic":
        return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()
    return json.dumps({"error": {"message": message, "type": kind, "code": None}}).encode()


def _openai_answer(reply: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content or None}
    if reply.calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in reply.calls
        ]
    usage = reply.usage
    wire_usage: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }
    if reply.cost_usd is not None:
        wire_usage["cost"] = reply.cost_usd
    finish = reply.finish_reason or ("tool_calls" if reply.calls else "stop")
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": wire_usage,
    }


def _anthropic_answer(reply: Reply, model: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = (
        [{"type": "text", "text": reply.content}] if reply.content else []
    )
    content += [
        {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
        for call in reply.calls
    ]
    usage = reply.usage
    finish = reply.finish_reason or ("tool_use" if reply.calls else "end_turn")
    return {
        "id": "msg_scripted",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": finish,
        "stop_sequence": None,
        "usage": {
            # Anthropic counts cached input apart from input_tokens
            "input_tokens": usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_input_tokens": usage.cache_read_tokens,
            "cache_creation_input_tokens": usage.cache_write_tokens,
        },
    }
