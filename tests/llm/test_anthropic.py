"""The Anthropic adapter, through the real `anthropic` SDK, against a loopback server."""

from __future__ import annotations

import pytest

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
from taskline.testing.provider_server import Api, ProviderServer, Reply

from .conftest import HELLO, SONNET, WEATHER

pytestmark = pytest.mark.anyio


@pytest.fixture
def api() -> Api:
    """The `model` fixture (see conftest) speaks Anthropic's format: Claude Sonnet 4."""
    return "anthropic"


async def test_cached_tokens_are_sent_apart_from_input_on_the_wire(
    model: HttpAdapter, server: ProviderServer
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


async def test_request_is_sent_in_the_wire_format(
    model: HttpAdapter, server: ProviderServer
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


async def test_input_that_is_not_an_object_comes_back_marked(
    model: HttpAdapter, server: ProviderServer
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
