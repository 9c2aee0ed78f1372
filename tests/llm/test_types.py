"""Messages, usage and responses: frozen, tagged by kind, consistent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from taskline.llm import (
    AssistantMessage,
    Message,
    ModelResponse,
    ToolCall,
    ToolDefinition,
    ToolResultMessage,
    Usage,
    UserMessage,
)

MESSAGES = TypeAdapter(list[Message])


def test_messages_round_trip_through_json_by_kind() -> None:
    messages: list[Message] = [
        UserMessage(content="hi"),
        AssistantMessage(tool_calls=(ToolCall(id="1", name="f", arguments={"x": 1}),)),
        ToolResultMessage(tool_call_id="1", name="f", content="ok"),
    ]

    dumped = MESSAGES.dump_json(messages)

    assert MESSAGES.validate_json(dumped) == messages
    assert [m["kind"] for m in MESSAGES.dump_python(messages)] == [
        "user",
        "assistant",
        "tool_result",
    ]


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        MESSAGES.validate_python([{"kind": "robot", "content": "beep"}])


def test_records_are_frozen() -> None:
    message = UserMessage(content="hi")

    with pytest.raises(ValidationError, match="Instance is frozen"):
        message.content = "changed"  # type: ignore[misc]


def test_usage_parts_stay_within_totals() -> None:
    assert (
        Usage(
            input_tokens=10, output_tokens=5, cache_read_tokens=6, cache_write_tokens=4
        ).total_tokens
        == 15
    )
    with pytest.raises(
        ValidationError, match="cache read and write tokens are part of input_tokens"
    ):
        Usage(input_tokens=5, cache_read_tokens=6)
    with pytest.raises(ValidationError, match="reasoning tokens are part of output_tokens"):
        Usage(output_tokens=1, reasoning_tokens=2)
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        Usage(input_tokens=-1)


def test_tool_names_are_what_providers_accept() -> None:
    with pytest.raises(ValidationError, match="String should match pattern"):
        ToolDefinition(name="read file")


def test_response_becomes_the_next_assistant_message() -> None:
    call = ToolCall(id="c", name="f")
    response = ModelResponse(
        text="thinking",
        tool_calls=(call,),
        finish_reason="tool_calls",
        usage=Usage(),
        provider="scripted",
        model="m",
        cost_usd=Decimal("0"),
        price_source="provider",
        latency_ms=1.0,
    )

    assert response.as_message() == AssistantMessage(content="thinking", tool_calls=(call,))
