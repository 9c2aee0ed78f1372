"""Pieces the HTTP adapters share: reading bodies and judging SDK exceptions.

The `openai` and `anthropic` SDKs come from the same generator, so their
exceptions have the same shape: a status error carrying the response, a
timeout error, and a connection error wrapping the transport's exception.
`taskline.llm.http_adapter` matches its SDK's classes and describes them with
these helpers; the adapters read their bodies with the rest.
"""

from __future__ import annotations

import functools
import json
import ssl
from collections.abc import Mapping
from typing import Any

import httpx2

from taskline.llm.retry import Failure, is_retryable_status, retry_after_seconds

EXCERPT_CHARS = 200


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every client of the process: loading the CA bundle takes
    20-40 ms, which each new client would otherwise pay again."""
    return httpx2.create_ssl_context()


class BodyError(ValueError):
    """The body of a successful response is not what the API promises."""


def decode_object(body: bytes) -> dict[str, Any]:
    """The JSON object in `body`; `BodyError` when it is not one."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise BodyError(f"not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise BodyError(f"expected a JSON object, got {type(data).__name__}")
    return data


def excerpt(body: bytes) -> str:
    """The start of `body`, for error messages."""
    text = body.decode("utf-8", errors="replace")
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


def count(data: Mapping[str, Any] | None, key: str) -> int:
    """A token count from a usage object: absent or null is 0, anything else must be an int."""
    if data is None:
        return 0
    value = data.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BodyError(f"usage field {key!r} is not a token count: {value!r}")
    return value


def mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    """A nested object, or None when absent or null."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise BodyError(f"{key!r} is not an object")
    return value


def timeout_failure(timeout_seconds: float) -> Failure:
    """The SDK gave up waiting for the answer."""
    return Failure(f"timed out after {timeout_seconds:g}s", retryable=True)


def connection_failure(exc: Exception) -> Failure:
    """The connection failed or dropped; the SDK keeps the transport's reason as the cause."""
    cause = exc.__cause__
    reason = (str(cause) or type(cause).__name__) if cause is not None else str(exc)
    return Failure(f"connection failed: {reason}", retryable=True)


def status_failure(
    status_code: int, headers: Mapping[str, str], body: object, message: str
) -> Failure:
    """The server answered with an error status."""
    wait = retry_after_seconds(headers)
    summary = f"HTTP {status_code}: {_error_message(body, message)}"
    if wait is not None:
        summary += f" (retry after {wait:g}s)"
    return Failure(summary, is_retryable_status(status_code), status_code, wait)


def _error_message(body: object, message: str) -> str:
    # openai keeps the body's `error` object, anthropic the whole body around it
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        body = body["error"]
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        return str(body["message"])
    if isinstance(body, str) and body:
        return body if len(body) <= EXCERPT_CHARS else body[:EXCERPT_CHARS] + "…"
    return message
