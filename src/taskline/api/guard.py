"""The outermost layer of the server: the token before the body, a body limit, safe headers.

It is plain ASGI and wraps everything else (FastAPI's error pages included), so:

- a request to `/api` without the token is answered 401 before a byte of its
  body is read — an unauthenticated client cannot make the server buffer or
  parse anything; the endpoints check the token again, as before;
- a body longer than the limit gets 413: at once when its Content-Length says
  so, and as soon as a body streamed without one crosses it;
- every response carries a Content-Security-Policy that allows only the
  server's own origin, `X-Frame-Options: DENY` and `X-Content-Type-Options:
  nosniff`, so the dashboard (where the token sits in localStorage) cannot be
  framed or made to load a script from elsewhere.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from fastapi import HTTPException, status

from taskline.config import DEFAULT_MAX_BODY_BYTES

__all__ = ["DEFAULT_MAX_BODY_BYTES", "Guard"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
]
UNAUTHORIZED = "missing or wrong API token: send `Authorization: Bearer TOKEN`"
# EventSource cannot send headers: the event streams take the token as `?token=`.
QUERY_TOKEN_METHODS = frozenset({"GET", "HEAD"})


def too_large(max_body_bytes: int) -> str:
    """The 413 message."""
    return f"request body too large: at most {max_body_bytes} bytes are accepted"


class Guard:
    """Wraps an ASGI app with the token check, the body limit and the security headers."""

    def __init__(self, app: ASGIApp, *, token: str, max_body_bytes: int) -> None:
        self.app = app
        self.token = token.encode()
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        if scope["path"].startswith("/api") and not self._authorized(scope):
            await _answer(send_with_headers, 401, UNAUTHORIZED, [(b"www-authenticate", b"Bearer")])
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _answer(send_with_headers, 413, too_large(self.max_body_bytes))
            return
        await self.app(scope, self._limited(receive), send_with_headers)

    def _authorized(self, scope: Scope) -> bool:
        given = b""
        for name, value in scope["headers"]:
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                given = value[7:].strip()
        if not given and scope["method"] in QUERY_TOKEN_METHODS:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = query.get("token", [""])[-1].encode("utf-8")
        return bool(given) and secrets.compare_digest(given, self.token)

    def _limited(self, receive: Receive) -> Receive:
        received_bytes = 0

        async def receive_within_limit() -> Message:
            nonlocal received_bytes
            message = await receive()
            if message["type"] == "http.request":
                received_bytes += len(message.get("body", b""))
                if received_bytes > self.max_body_bytes:
                    # Raised inside the endpoint that reads the body: FastAPI's error
                    # handling turns it into the 413 response.
                    raise HTTPException(
                        status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, too_large(self.max_body_bytes)
                    )
            return message

        return receive_within_limit


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before we see it
    return None


async def _answer(
    send: Send, status_code: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
