"""The OpenAI-compatible adapter, through the real `openai` SDK, against a loopback server."""

from __future__ import annotations

from decimal import Decimal

import pytest

from taskline.errors import ResponseParseError
from taskline.llm import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from taskline.llm.http_adapter import HttpAdapter
from taskline.llm.openai_compat import OpenAICompatModel
from taskline.llm.pricing import TokenPrices
from taskline.testing.provider_server import Api, ProviderServer, Reply

from .conftest import HELLO, WEATHER

pytestmark = pytest.mark.anyio


@pytest.fixture
def api() -> Api:
    """The `model` fixture (see conftest) speaks OpenAI's format: gpt-4o-mini, priced as OpenAI's."""
    return "openai"


async def test_request_is_sent_in_the_wire_format(
    model: HttpAdapter, server: ProviderServer
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
    model: HttpAdapter, server: ProviderServer
) -> None:
    server.enqueue(Reply.text("hi", usage=Usage(input_tokens=10, output_tokens=5), cost_usd=0.0123))

    response = await model.complete(HELLO)

    assert (response.cost_usd, response.price_source) == (Decimal("0.0123"), "provider")


async def test_reported_cost_survives_unreadable_token_counts(
    model: HttpAdapter, server: ProviderServer
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
    model: HttpAdapter, server: ProviderServer
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
    model: HttpAdapter, server: ProviderServer
) -> None:
    server.enqueue(Reply.text("ok"))
    call = ToolCall(id="a", name="f", arguments_error="not JSON", raw_arguments="{'x': 1")

    await model.complete([UserMessage(content="go"), AssistantMessage(tool_calls=(call,))])

    [request] = server.requests
    assert request.body["messages"][1]["tool_calls"][0]["function"]["arguments"] == "{'x': 1"


async def test_length_finish_and_missing_tool_call_id(
    model: HttpAdapter, server: ProviderServer
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
