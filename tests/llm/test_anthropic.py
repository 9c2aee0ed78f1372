"""The Anthropic adapter, through the real `anthropic` SDK, against a loopback server."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from taskline.errors import ProviderError, ResponseParseError
from taskline.llm import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolDefinition,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from taskline.llm.anthropic import AnthropicModel
from taskline.llm.pricing import PriceBook
from taskline.llm.retry import RetryPolicy
from taskline.testing.provider_server import ProviderServer, Reply

from .conftest import FAST_RETRY

pytestmark = pytest.mark.anyio

SONNET = "claude-sonnet-4-20250514"
HELLO = [UserMessage(content="Say hello")]
WEATHER = ToolDefinition(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture
async def model(server: ProviderServer) -> AsyncIterator[AnthropicModel]:
    """Claude Sonnet 4, priced by genai-prices as Anthropic's, served by the loopback server."""
    adapter = AnthropicModel(
        SONNET,
        base_url=server.anthropic_base_url,
        api_key="test-key",
        retry=FAST_RETRY,
        genai_provider_id="anthropic",
        price_book=PriceBook(),
    )
    yield adapter
    await adapter.aclose()


async def test_text_answer_with_cache_usage_and_price(
    model: AnthropicModel, server: ProviderServer
) -> None:
    usage = Usage(
        input_tokens=10_000, output_tokens=1_000, cache_read_tokens=6_000, cache_write_tokens=2_000
    )
    server.enqueue(Reply.text("Hello!", usage=usage))

    response = await model.complete(HELLO)

    assert response.text == "Hello!"
    assert (response.finish_reason, response.provider_finish_reason) == ("stop", "end_turn")
    assert response.usage == usage
    # 2k plain input at $3, 6k cache reads at $0.30, 2k cache writes at $3.75, 1k out at $15
    assert response.cost_usd == Decimal("0.0303")
    assert response.price_source == "genai-prices"
    assert (response.provider, response.model, response.attempts) == ("anthropic", SONNET, 1)


async def test_cached_tokens_are_sent_apart_from_input_on_the_wire(
    model: AnthropicModel, server: ProviderServer
) -> None:
    body = {
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 12,
            "output_tokens": 30,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 50,
            "output_tokens_details": {"thinking_tokens": 20},
        },
    }
    server.enqueue(Reply.raw(body))

    response = await model.complete(HELLO)

    assert response.usage == Usage(
        input_tokens=162,
        output_tokens=30,
        cache_read_tokens=100,
        cache_write_tokens=50,
        reasoning_tokens=20,
    )


async def test_tool_use_blocks_become_tool_calls(
    model: AnthropicModel, server: ProviderServer
) -> None:
    server.enqueue(
        Reply.tool_calls(
            ToolCall(id="toolu_1", name="get_weather", arguments={"city": "Paris"}),
            text="Let me check.",
        )
    )

    response = await model.complete(HELLO, [WEATHER])

    assert response.text == "Let me check."
    assert response.tool_calls == (
        ToolCall(id="toolu_1", name="get_weather", arguments={"city": "Paris"}),
    )
    assert (response.finish_reason, response.provider_finish_reason) == ("tool_calls", "tool_use")


async def test_request_is_sent_in_the_wire_format(
    model: AnthropicModel, server: ProviderServer
) -> None:
    server.enqueue(Reply.text("done"))
    first = ToolCall(id="toolu_1", name="get_weather", arguments={"city": "Paris"})
    second = ToolCall(id="toolu_2", name="get_weather", arguments={"city": "Oslo"})
    messages: list[Message] = [
        SystemMessage(content="Be brief."),
        UserMessage(content="Weather in Paris and Oslo?"),
        AssistantMessage(content="Checking.", tool_calls=(first, second)),
        ToolResultMessage(tool_call_id="toolu_1", name="get_weather", content="sunny"),
        ToolResultMessage(tool_call_id="toolu_2", name="get_weather", content="no", is_error=True),
    ]

    await model.complete(messages, [WEATHER])

    [request] = server.requests
    assert request.path == "/v1/messages"
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.body == {
        "model": SONNET,
        "max_tokens": 4096,
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Oslo?"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                    {
                        "type": "tool_use",
                        "id": "toolu_2",
                        "name": "get_weather",
                        "input": {"city": "Oslo"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "content": "no",
                        "is_error": True,
                    },
                ],
            },
        ],
        "tools": [
            {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "input_schema": WEATHER.parameters,
            }
        ],
    }


async def test_rate_limit_waits_for_retry_after(
    model: AnthropicModel, server: ProviderServer
) -> None:
    server.enqueue(Reply.error(429, "Number of requests exceeded", retry_after_seconds=1))
    server.enqueue(Reply.text("ok"))

    started = time.perf_counter()
    response = await model.complete(HELLO)

    assert 1.0 <= time.perf_counter() - started < 2.0
    assert response.attempts == 2
    assert response.attempt_errors == ("HTTP 429: Number of requests exceeded (retry after 1s)",)


async def test_overloaded_then_exhausted(model: AnthropicModel, server: ProviderServer) -> None:
    server.enqueue(Reply.error(529, "Overloaded"), Reply.error(500, "oops"), Reply.drop())

    with pytest.raises(ProviderError) as caught:
        await model.complete(HELLO)

    error = caught.value
    assert str(error) == (
        f"anthropic:{SONNET} failed after 3 attempts:"
        " connection failed: Server disconnected without sending a response."
    )
    assert (error.status_code, error.attempts) == (None, 3)
    assert error.attempt_errors == (
        "HTTP 529: Overloaded",
        "HTTP 500: oops",
        "connection failed: Server disconnected without sending a response.",
    )


async def test_bad_request_is_not_retried(model: AnthropicModel, server: ProviderServer) -> None:
    server.enqueue(Reply.error(400, "max_tokens: must be at most 64000"))

    with pytest.raises(ProviderError) as caught:
        await model.complete(HELLO)

    assert str(caught.value) == (
        f"anthropic:{SONNET} failed after 1 attempt: HTTP 400: max_tokens: must be at most 64000"
    )
    assert caught.value.status_code == 400


async def test_slow_answer_times_out(server: ProviderServer) -> None:
    model = AnthropicModel(
        SONNET,
        base_url=server.anthropic_base_url,
        api_key="k",
        retry=RetryPolicy(max_attempts=1, timeout_seconds=0.3),
    )
    server.enqueue(Reply.text("too late").after(2.0))

    with pytest.raises(ProviderError) as caught:
        await model.complete(HELLO)
    await model.aclose()

    assert str(caught.value) == f"anthropic:{SONNET} failed after 1 attempt: timed out after 0.3s"


async def test_malformed_json_is_a_parse_error(
    model: AnthropicModel, server: ProviderServer
) -> None:
    server.enqueue(Reply.malformed())

    with pytest.raises(ResponseParseError) as caught:
        await model.complete(HELLO)

    assert caught.value.usage is None
    assert caught.value.cost_usd is None


async def test_unreadable_content_keeps_the_billed_usage(
    model: AnthropicModel, server: ProviderServer
) -> None:
    usage = {"input_tokens": 1_000_000, "output_tokens": 0}
    server.enqueue(Reply.raw({"content": "not a list", "usage": usage}))

    with pytest.raises(ResponseParseError) as caught:
        await model.complete(HELLO)

    error = caught.value
    assert str(error) == (
        f"anthropic:{SONNET} failed after 1 attempt: unreadable response:"
        " no content in the response"
    )
    assert (error.usage, error.raw_usage) == (Usage(input_tokens=1_000_000), usage)
    assert (error.cost_usd, error.price_source) == (Decimal("3"), "genai-prices")


async def test_input_that_is_not_an_object_comes_back_marked(
    model: AnthropicModel, server: ProviderServer
) -> None:
    body = {
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": "not an object"}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 10, "output_tokens": 2},
    }
    server.enqueue(Reply.raw(body))

    response = await model.complete(HELLO)

    assert response.tool_calls == (
        ToolCall(
            id="toolu_1",
            name="f",
            arguments_error="not a JSON object",
            raw_arguments='"not an object"',
        ),
    )
    assert response.finish_reason == "tool_calls"
