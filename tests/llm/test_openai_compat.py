"""The OpenAI-compatible adapter, through the real `openai` SDK, against a loopback server."""

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
from taskline.llm.openai_compat import OpenAICompatModel
from taskline.llm.pricing import PriceBook, TokenPrices
from taskline.llm.retry import RetryPolicy
from taskline.testing.provider_server import ProviderServer, Reply

from .conftest import FAST_RETRY

pytestmark = pytest.mark.anyio

HELLO = [UserMessage(content="Say hello")]
WEATHER = ToolDefinition(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture
async def model(server: ProviderServer) -> AsyncIterator[OpenAICompatModel]:
    """gpt-4o-mini, priced by genai-prices as OpenAI's, served by the loopback server."""
    adapter = OpenAICompatModel(
        "gpt-4o-mini",
        base_url=server.openai_base_url,
        api_key="test-key",
        retry=FAST_RETRY,
        genai_provider_id="openai",
        price_book=PriceBook(),
    )
    yield adapter
    await adapter.aclose()


async def test_text_answer_with_usage_and_price(
    model: OpenAICompatModel, server: ProviderServer
) -> None:
    usage = Usage(
        input_tokens=2000, output_tokens=300, cache_read_tokens=1200, reasoning_tokens=100
    )
    server.enqueue(Reply.text("Hello!", usage=usage))

    response = await model.complete(HELLO)

    assert response.text == "Hello!"
    assert response.tool_calls == ()
    assert response.finish_reason == "stop"
    assert response.provider_finish_reason == "stop"
    assert response.usage == usage
    # 800 uncached at $0.15, 1200 cached at $0.075, 300 out at $0.60 per Mtok
    assert response.cost_usd == Decimal("0.00039")
    assert response.price_source == "genai-prices"
    assert (response.provider, response.model) == ("openai", "gpt-4o-mini")
    assert (response.attempts, response.attempt_errors) == (1, ())


async def test_tool_calls_are_decoded(model: OpenAICompatModel, server: ProviderServer) -> None:
    server.enqueue(
        Reply.tool_calls(
            ToolCall(id="call_a", name="get_weather", arguments={"city": "Paris"}),
            ToolCall(id="call_b", name="get_weather", arguments={"city": "Oslo"}),
            text="Checking both.",
            usage=Usage(input_tokens=50, output_tokens=20),
        )
    )

    response = await model.complete(HELLO, [WEATHER])

    assert response.text == "Checking both."
    assert response.tool_calls == (
        ToolCall(id="call_a", name="get_weather", arguments={"city": "Paris"}),
        ToolCall(id="call_b", name="get_weather", arguments={"city": "Oslo"}),
    )
    assert response.finish_reason == "tool_calls"


async def test_request_is_sent_in_the_wire_format(
    model: OpenAICompatModel, server: ProviderServer
) -> None:
    server.enqueue(Reply.text("done"))
    call = ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"})
    messages: list[Message] = [
        SystemMessage(content="Be brief."),
        UserMessage(content="Weather in Paris?"),
        AssistantMessage(tool_calls=(call,)),
        ToolResultMessage(tool_call_id="call_1", name="get_weather", content="sunny"),
        ToolResultMessage(tool_call_id="call_2", name="get_weather", content="no", is_error=True),
    ]

    await model.complete(messages, [WEATHER])

    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.headers["x-stainless-retry-count"] == "0"
    assert request.body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": "ERROR: no"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather for a city.",
                    "parameters": WEATHER.parameters,
                },
            }
        ],
    }


async def test_cost_reported_by_the_endpoint_wins(
    model: OpenAICompatModel, server: ProviderServer
) -> None:
    server.enqueue(Reply.text("hi", usage=Usage(input_tokens=10, output_tokens=5), cost_usd=0.0123))

    response = await model.complete(HELLO)

    assert (response.cost_usd, response.price_source) == (Decimal("0.0123"), "provider")


async def test_rate_limit_waits_for_retry_after(
    model: OpenAICompatModel, server: ProviderServer
) -> None:
    server.enqueue(Reply.error(429, "Rate limit reached", retry_after_seconds=1), Reply.text("ok"))

    started = time.perf_counter()
    response = await model.complete(HELLO)
    waited = time.perf_counter() - started

    assert response.text == "ok"
    assert response.attempts == 2
    assert response.attempt_errors == ("HTTP 429: Rate limit reached (retry after 1s)",)
    assert 1.0 <= waited < 2.0
    assert len(server.requests) == 2


async def test_server_errors_are_retried_then_reported(
    model: OpenAICompatModel, server: ProviderServer
) -> None:
    server.enqueue(Reply.error(500, "boom"), Reply.error(502, "bad gateway"), Reply.error(503))

    with pytest.raises(ProviderError) as caught:
        await model.complete(HELLO)

    error = caught.value
    assert str(error) == "openai:gpt-4o-mini failed after 3 attempts: HTTP 503: scripted HTTP 503"
    assert error.status_code == 503
    assert error.attempts == 3
    assert error.attempt_errors == (
        "HTTP 500: boom",
        "HTTP 502: bad gateway",
        "HTTP 503: scripted HTTP 503",
    )
    assert type(error) is ProviderError


async def test_client_errors_are_not_retried(
    model: OpenAICompatModel, server: ProviderServer
) -> None:
    server.enqueue(Reply.error(401, "Incorrect API key provided"), Reply.text("never sent"))

    with pytest.raises(
        ProviderError, match=r"^openai:gpt-4o-mini failed after 1 attempt: "
    ) as caught:
        await model.complete(HELLO)

    assert str(caught.value).endswith("HTTP 401: Incorrect API key provided")
    assert (caught.value.status_code, caught.value.attempts) == (401, 1)
    assert server.pending == 1


async def test_slow_answer_times_out_and_is_retried(server: ProviderServer) -> None:
    model = OpenAICompatModel(
        "gpt-4o-mini",
        base_url=server.openai_base_url,
        api_key="k",
        retry=RetryPolicy(max_attempts=2, timeout_seconds=0.3, base_delay_seconds=0.01),
    )
    # An answer far slower than any loaded machine: waiting for it would show.
    server.enqueue(Reply.text("too late").after(60.0), Reply.text("in time"))

    started = time.perf_counter()
    response = await model.complete(HELLO)
    await model.aclose()

    assert response.text == "in time"
    assert response.attempt_errors == ("timed out after 0.3s",)
    assert time.perf_counter() - started < 30


async def test_dropped_connection_is_retried(
    model: OpenAICompatModel, server: ProviderServer
) -> None:
    server.enqueue(Reply.drop(), Reply.text("back"))

    response = await model.complete(HELLO)

    assert response.text == "back"
    assert response.attempt_errors == (
        "connection failed: Server disconnected without sending a response.",
    )


async def test_malformed_json_is_a_parse_error_without_usage(
    model: OpenAICompatModel, server: ProviderServer
) -> None:
    server.enqueue(Reply.malformed())

    with pytest.raises(ResponseParseError) as caught:
        await model.complete(HELLO)

    error = caught.value
    assert str(error) == (
        "openai:gpt-4o-mini failed after 1 attempt: unreadable response: not JSON"
        " (Unterminated string starting at: line 1 column 54 (char 53))"
    )
    assert (error.usage, error.cost_usd, error.price_source) == (None, None, "unknown")
    assert error.body_excerpt == '{"id": "broken", "choices": [{"message": {"content": "cut'


async def test_billed_answer_that_cannot_be_read_keeps_its_usage(
    model: OpenAICompatModel, server: ProviderServer
) -> None:
    usage = {"prompt_tokens": 1000, "completion_tokens": 1000, "total_tokens": 2000}
    server.enqueue(Reply.raw({"choices": [], "usage": usage}))

    with pytest.raises(ResponseParseError) as caught:
        await model.complete(HELLO)

    error = caught.value
    assert str(error) == (
        "openai:gpt-4o-mini failed after 1 attempt: unreadable response: no choices in the response"
    )
    assert error.usage == Usage(input_tokens=1000, output_tokens=1000)
    assert error.raw_usage == usage
    assert (error.cost_usd, error.price_source) == (Decimal("0.00075"), "genai-prices")


async def test_reported_cost_survives_unreadable_token_counts(
    model: OpenAICompatModel, server: ProviderServer
) -> None:
    usage = {"prompt_tokens": "many", "completion_tokens": 3, "cost": 0.0125}
    server.enqueue(Reply.raw({"choices": [], "usage": usage}))

    with pytest.raises(ResponseParseError) as caught:
        await model.complete(HELLO)

    error = caught.value
    assert str(error) == (
        "openai:gpt-4o-mini failed after 1 attempt: unreadable response:"
        " usage field 'prompt_tokens' is not a token count: 'many'"
    )
    assert (error.usage, error.raw_usage) == (None, usage)
    assert (error.cost_usd, error.price_source) == (Decimal("0.0125"), "provider")


async def test_arguments_that_are_not_json_come_back_marked(
    model: OpenAICompatModel, server: ProviderServer
) -> None:
    calls = [
        {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{"}},
        {"id": "b", "type": "function", "function": {"name": "f", "arguments": "[1]"}},
    ]
    body = {
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"tool_calls": calls}}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 1000, "total_tokens": 2000},
    }
    server.enqueue(Reply.raw(body))

    response = await model.complete(HELLO)

    assert response.tool_calls == (
        ToolCall(
            id="a",
            name="f",
            arguments_error="not JSON (Expecting property name enclosed in double quotes:"
            " line 1 column 2 (char 1))",
            raw_arguments="{",
        ),
        ToolCall(id="b", name="f", arguments_error="not a JSON object", raw_arguments="[1]"),
    )
    assert response.usage == Usage(input_tokens=1000, output_tokens=1000)
    assert (response.cost_usd, response.price_source) == (Decimal("0.00075"), "genai-prices")


async def test_unreadable_arguments_go_back_as_the_model_wrote_them(
    model: OpenAICompatModel, server: ProviderServer
) -> None:
    server.enqueue(Reply.text("ok"))
    call = ToolCall(id="a", name="f", arguments_error="not JSON", raw_arguments="{'x': 1")

    await model.complete([UserMessage(content="go"), AssistantMessage(tool_calls=(call,))])

    [request] = server.requests
    assert request.body["messages"][1]["tool_calls"][0]["function"]["arguments"] == "{'x': 1"


async def test_length_finish_and_missing_tool_call_id(
    model: OpenAICompatModel, server: ProviderServer
) -> None:
    body = {
        "choices": [
            {
                "finish_reason": "length",
                "message": {
                    "content": "partial",
                    "tool_calls": [{"function": {"name": "get_weather", "arguments": ""}}],
                },
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4},
    }
    server.enqueue(Reply.raw(body))

    response = await model.complete(HELLO)

    assert response.finish_reason == "length"
    assert response.tool_calls == (ToolCall(id="call_0", name="get_weather", arguments={}),)


async def test_config_prices_apply_when_genai_prices_does_not_know_the_model(
    server: ProviderServer,
) -> None:
    prices = TokenPrices(
        input_usd_per_mtok=Decimal("1"),
        output_usd_per_mtok=Decimal("2"),
        cache_read_usd_per_mtok=Decimal("0.1"),
    )
    model = OpenAICompatModel(
        "house-model-7b",
        provider="house",
        base_url=server.openai_base_url,
        api_key="k",
        config_prices=prices,
    )
    usage = Usage(input_tokens=1_000_000, output_tokens=500_000, cache_read_tokens=400_000)
    server.enqueue(Reply.text("hi", usage=usage))

    response = await model.complete(HELLO)
    await model.aclose()

    # 600k at $1 + 400k at $0.10 + 500k at $2
    assert (response.cost_usd, response.price_source) == (Decimal("1.64"), "config")
    assert response.provider == "house"


async def test_tool_choice_is_sent_only_with_tools(server: ProviderServer) -> None:
    choice = {"type": "function", "function": {"name": "get_weather"}}
    model = OpenAICompatModel("m", base_url=server.openai_base_url, api_key="k", tool_choice=choice)
    server.enqueue(Reply.text("a"), Reply.text("b"))

    await model.complete(HELLO, [WEATHER])
    await model.complete(HELLO)
    await model.aclose()

    first, second = server.requests
    assert first.body["tool_choice"] == choice
    assert "tool_choice" not in second.body
    assert "tools" not in second.body
