"""Messages and tool calls as the GenAI semantic conventions write them on spans.

Only when the user opts in (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`):
prompts and tool output can hold secrets and personal data, so by default no content
leaves the process, only counts and names.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from taskline.llm.types import (
    AssistantMessage,
    Message,
    ModelResponse,
    SystemMessage,
    ToolCall,
    ToolResultMessage,
    UserMessage,
)


def system_instructions(messages: Sequence[Message]) -> str:
    """The system messages as `gen_ai.system_instructions`: a JSON list of text parts."""
    parts = [_text(m.content) for m in messages if isinstance(m, SystemMessage)]
    return json.dumps(parts, ensure_ascii=False)


def input_messages(messages: Sequence[Message]) -> str:
    """The conversation sent (system messages aside) as `gen_ai.input.messages`."""
    shown = [_message(m) for m in messages if not isinstance(m, SystemMessage)]
    return json.dumps(shown, ensure_ascii=False)


def output_messages(response: ModelResponse) -> str:
    """The answer as `gen_ai.output.messages`: one assistant message with its finish reason."""
    message = _message(response.as_message())
    message["finish_reason"] = response.provider_finish_reason or response.finish_reason
    return json.dumps([message], ensure_ascii=False)


def tool_arguments(call: ToolCall) -> str:
    """A tool call's arguments as the model wrote them (`gen_ai.tool.call.arguments`)."""
    if call.raw_arguments is not None:  # unreadable: shown as sent
        return call.raw_arguments
    return json.dumps(call.arguments, ensure_ascii=False)


def _text(content: str) -> dict[str, Any]:
    return {"type": "text", "content": content}


def _call(call: ToolCall) -> dict[str, Any]:
    return {"type": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments}


def _message(message: Message) -> dict[str, Any]:
    if isinstance(message, UserMessage):
        return {"role": "user", "parts": [_text(message.content)]}
    if isinstance(message, AssistantMessage):
        parts = [_text(message.content)] if message.content else []
        return {"role": "assistant", "parts": parts + [_call(c) for c in message.tool_calls]}
    if isinstance(message, ToolResultMessage):
        response = {"type": "tool_call_response", "id": message.tool_call_id}
        return {"role": "tool", "parts": [{**response, "response": message.content}]}
    return {"role": "system", "parts": [_text(message.content)]}
