"""What both HTTP adapters do alike, through their real SDKs, against a loopback server.

Each test runs once per wire format (`openai`, `anthropic`); what only one
format does is tested in `test_openai_compat.py` and `test_anthropic.py`.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from taskline.errors import ProviderError, ResponseParseError
from taskline.llm import ToolCall, Usage
from taskline.llm.http_adapter import HttpAdapter
from taskline.llm.retry import RetryPolicy
from taskline.testing.provider_server import Api, ProviderServer, Reply

from .conftest import ADAPTERS, HELLO, SONNET, WEATHER, http_adapter

pytestmark = pytest.mark.anyio

PARIS = ToolCall(id="call_a", name="get_weather", arguments={"city": "Paris"})
OSLO = ToolCall(id="call_b", name="get_weather", arguments={"city": "Oslo"})
TOOLU = ToolCall(id="toolu_1", name="get_weather", arguments={"city": "Paris"})
DROPPED = "connection failed: Server disconnected without sending a response."


@pytest.fixture(params=list(ADAPTERS))
def api(request: pytest.FixtureRequest) -> Api:
    """Each wire format in turn."""
    value: Api = request.param
    return value


def _name(api: Api) -> str:
    """How errors name the model: `provider:model`."""
    return f"{api}:{ADAPTERS[api][1]}"


@pytest.mark.parametrize(
    ("api", "usage", "provider_finish_reason", "cost_usd"),
    [
        pytest.param(
            "openai",
            Usage(
                input_tokens=2000, output_tokens=300, cache_read_tokens=1200, reasoning_tokens=100
            ),
            "stop",
            # 800 uncached at $0.15, 1200 cached at $0.075, 300 out at $0.60 per Mtok
            Decimal("0.00039"),
            id="openai",
        ),
        pytest.param(
            "anthropic",
            Usage(
                input_tokens=10_000,
                output_tokens=1_000,
                cache_read_tokens=6_000,
                cache_write_tokens=2_000,
            ),
            "end_turn",
            # 2k plain input at $3, 6k cache reads at $0.30, 2k cache writes at $3.75, 1k out at $15
            Decimal("0.0303"),
            id="anthropic",
        ),
    ],
)
async def test_text_answer_with_usage_and_price(
    model: HttpAdapter,
    server: ProviderServer,
    api: Api,
    usage: Usage,
    provider_finish_reason: str,
    cost_usd: Decimal,
) -> None:
    server.enqueue(Reply.text("Hello!", usage=usage))

    response = await model.complete(HELLO)

    assert response.text == "Hello!"
    assert response.tool_calls == ()
    assert (response.finish_reason, response.provider_finish_reason) == (
        "stop",
        provider_finish_reason,
    )
    assert response.usage == usage
    assert response.cost_usd == cost_usd
    assert response.price_source == "genai-prices"
    assert (response.provider, response.model) == (api, ADAPTERS[api][1])
    assert (response.attempts, response.attempt_errors) == (1, ())


@pytest.mark.parametrize(
    ("api", "calls", "text", "provider_finish_reason"),
    [
        ("openai", (PARIS, OSLO), "Checking both.", "tool_calls"),
        ("anthropic", (TOOLU,), "Let me check.", "tool_use"),
    ],
)
async def test_tool_calls_are_decoded(
    model: HttpAdapter,
    server: ProviderServer,
    calls: tuple[ToolCall, ...],
    text: str,
    provider_finish_reason: str,
) -> None:
    server.enqueue(
        Reply.tool_calls(*calls, text=text, usage=Usage(input_tokens=50, output_tokens=20))
    )

    response = await model.complete(HELLO, [WEATHER])

    assert response.text == text
    assert response.tool_calls == calls
    assert (response.finish_reason, response.provider_finish_reason) == (
        "tool_calls",
        provider_finish_reason,
    )


@pytest.mark.parametrize(
    ("api", "message", "attempt_error"),
    [
        ("openai", "Rate limit reached", "HTTP 429: Rate limit reached (retry after 1s)"),
        (
            "anthropic",
            "Number of requests exceeded",
            "HTTP 429: Number of requests exceeded (retry after 1s)",
        ),
    ],
)
async def test_rate_limit_waits_for_retry_after(
    model: HttpAdapter, server: ProviderServer, message: str, attempt_error: str
) -> None:
    server.enqueue(Reply.error(429, message, retry_after_seconds=1), Reply.text("ok"))

    started = time.perf_counter()
    response = await model.complete(HELLO)
    waited = time.perf_counter() - started

    assert response.text == "ok"
    assert response.attempts == 2
    assert response.attempt_errors == (attempt_error,)
    # It waited as asked; exactly how long is test_retry.py's, with a recorded sleep.
    assert 1.0 <= waited < 30
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("api", "replies", "message", "status_code", "attempt_errors"),
    [
        pytest.param(
            "openai",
            (Reply.error(500, "boom"), Reply.error(502, "bad gateway"), Reply.error(503)),
            "openai:gpt-4o-mini failed after 3 attempts: HTTP 503: scripted HTTP 503",
            503,
            ("HTTP 500: boom", "HTTP 502: bad gateway", "HTTP 503: scripted HTTP 503"),
            id="openai-server-errors",
        ),
        pytest.param(
            "anthropic",
            (Reply.error(529, "Overloaded"), Reply.error(500, "oops"), Reply.drop()),
            f"anthropic:{SONNET} failed after 3 attempts: {DROPPED}",
            None,
            ("HTTP 529: Overloaded", "HTTP 500: oops", DROPPED),
            id="anthropic-overloaded-then-dropped",
        ),
    ],
)
async def test_retryable_failures_are_retried_then_reported(
    model: HttpAdapter,
    server: ProviderServer,
    replies: tuple[Reply, ...],
    message: str,
    status_code: int | None,
    attempt_errors: tuple[str, ...],
) -> None:
    server.enqueue(*replies)

    with pytest.raises(ProviderError) as caught:
        await model.complete(HELLO)

    error = caught.value
    assert str(error) == message
    assert (error.status_code, error.attempts) == (status_code, 3)
    assert error.attempt_errors == attempt_errors
    assert type(error) is ProviderError


@pytest.mark.parametrize(
    ("api", "status_code", "message", "error_message"),
    [
        (
            "openai",
            401,
            "Incorrect API key provided",
            "openai:gpt-4o-mini failed after 1 attempt: HTTP 401: Incorrect API key provided",
        ),
        (
            "anthropic",
            400,
            "max_tokens: must be at most 64000",
            f"anthropic:{SONNET} failed after 1 attempt: HTTP 400: max_tokens: must be at most 64000",
        ),
    ],
)
async def test_client_errors_are_not_retried(
    model: HttpAdapter, server: ProviderServer, status_code: int, message: str, error_message: str
) -> None:
    server.enqueue(Reply.error(status_code, message), Reply.text("never sent"))

    with pytest.raises(ProviderError) as caught:
        await model.complete(HELLO)

    assert str(caught.value) == error_message
    assert (caught.value.status_code, caught.value.attempts) == (status_code, 1)
    assert server.pending == 1


async def test_slow_answer_times_out_and_is_retried(api: Api, server: ProviderServer) -> None:
    # Long enough for the second answer on a loaded machine.
    model = http_adapter(
        api, server, retry=RetryPolicy(max_attempts=2, timeout_seconds=5, base_delay_seconds=0.01)
    )
    # An answer far slower than any loaded machine: waiting for it would show.
    server.enqueue(Reply.text("too late").after(60.0), Reply.text("in time"))

    started = time.perf_counter()
    response = await model.complete(HELLO)
    await model.aclose()

    assert response.text == "in time"
    assert response.attempt_errors == ("timed out after 5s",)
    assert time.perf_counter() - started < 30


async def test_slow_answer_times_out(api: Api, server: ProviderServer) -> None:
    model = http_adapter(api, server, retry=RetryPolicy(max_attempts=1, timeout_seconds=0.3))
    server.enqueue(Reply.text("too late").after(60.0))

    with pytest.raises(ProviderError) as caught:
        await model.complete(HELLO)
    await model.aclose()

    assert str(caught.value) == f"{_name(api)} failed after 1 attempt: timed out after 0.3s"


async def test_dropped_connection_is_retried(model: HttpAdapter, server: ProviderServer) -> None:
    server.enqueue(Reply.drop(), Reply.text("back"))

    response = await model.complete(HELLO)

    assert response.text == "back"
    assert response.attempt_errors == (DROPPED,)


async def test_malformed_json_is_a_parse_error_without_usage(
    model: HttpAdapter, server: ProviderServer, api: Api
) -> None:
    server.enqueue(Reply.malformed())

    with pytest.raises(ResponseParseError) as caught:
        await model.complete(HELLO)

    error = caught.value
    assert str(error) == (
        f"{_name(api)} failed after 1 attempt: unreadable response: not JSON"
        " (Unterminated string starting at: line 1 column 54 (char 53))"
    )
    assert (error.usage, error.cost_usd, error.price_source) == (None, None, "unknown")
    assert error.body_excerpt == '{"id": "broken", "choices": [{"message": {"content": "cut'


@pytest.mark.parametrize(
    ("api", "body", "detail", "usage", "cost_usd"),
    [
        pytest.param(
            "openai",
            {
                "choices": [],
                "usage": {"prompt_tokens": 1000, "completion_tokens": 1000, "total_tokens": 2000},
            },
            "no choices in the response",
            Usage(input_tokens=1000, output_tokens=1000),
            Decimal("0.00075"),
            id="openai-no-choices",
        ),
        pytest.param(
            "anthropic",
            {"content": "not a list", "usage": {"input_tokens": 1_000_000, "output_tokens": 0}},
            "no content in the response",
            Usage(input_tokens=1_000_000),
            Decimal("3"),
            id="anthropic-content-not-a-list",
        ),
    ],
)
async def test_billed_answer_that_cannot_be_read_keeps_its_usage(
    model: HttpAdapter,
    server: ProviderServer,
    api: Api,
    body: dict[str, Any],
    detail: str,
    usage: Usage,
    cost_usd: Decimal,
) -> None:
    server.enqueue(Reply.raw(body))

    with pytest.raises(ResponseParseError) as caught:
        await model.complete(HELLO)

    error = caught.value
    assert str(error) == f"{_name(api)} failed after 1 attempt: unreadable response: {detail}"
    assert (error.usage, error.raw_usage) == (usage, body["usage"])
    assert (error.cost_usd, error.price_source) == (cost_usd, "genai-prices")
