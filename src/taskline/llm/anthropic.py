"""Anthropic's Messages API, through the `anthropic` SDK.

This module shapes the request and reads the answer, usage included (Anthropic's
`input_tokens` leaves out the tokens read from or written to the prompt cache);
`taskline.llm.http_adapter.HttpAdapter` posts, retries and prices.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Unpack

import anthropic

from taskline.llm.http_adapter import Answer, HttpAdapter, HttpApi, HttpSettings
from taskline.llm.types import (
    AssistantMessage,
    FinishReason,
    Message,
    SystemMessage,
    ToolCall,
    ToolDefinition,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from taskline.llm.wire import BodyError, count, mapping

DEFAULT_MAX_OUTPUT_TOKENS = 4096

STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}


class AnthropicModel(HttpAdapter):
    """A Claude model behind the Messages API (`/v1/messages`).

    System prompts go apart from the conversation, whose user and assistant turns
    alternate; text, tool calls and tool results travel as content blocks.
    """

    api = HttpApi(anthropic, anthropic.AsyncAnthropic, anthropic.AnthropicError, "/v1/messages")

    def __init__(
        self,
        model: str,
        *,
        max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS,
        provider: str = "anthropic",
        **settings: Unpack[HttpSettings],
    ) -> None:
        """Ask for answers of at most `max_output_tokens`; the rest as in `HttpAdapter`.

        Without `base_url` or `api_key`, the SDK reads `ANTHROPIC_BASE_URL` and
        `ANTHROPIC_API_KEY`.
        """
        super().__init__(model, provider=provider, **settings)
        self._max_output_tokens = max_output_tokens

    def _request(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition]
    ) -> dict[str, Any]:
        system, conversation = _wire_messages(messages)
        request: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self._max_output_tokens,
            "messages": conversation,
        }
        if system:
            request["system"] = system
        if tools:
            request["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in tools
            ]
        return request

    def _read_usage(self, usage: Mapping[str, Any]) -> Usage:
        cache_read = count(usage, "cache_read_input_tokens")
        cache_write = count(usage, "cache_creation_input_tokens")
        output_details = mapping(usage, "output_tokens_details")
        # Anthropic's input_tokens leaves out the cached tokens; ours includes them
        return Usage.reported(
            input_tokens=count(usage, "input_tokens") + cache_read + cache_write,
            output_tokens=count(usage, "output_tokens"),
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            reasoning_tokens=count(output_details, "thinking_tokens"),
        )

    def _read_answer(self, data: Mapping[str, Any]) -> Answer:
        content = data.get("content")
        if not isinstance(content, list):
            raise BodyError("no content in the response")
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in content:
            if not isinstance(block, Mapping):
                raise BodyError("a content block is not an object")
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif block.get("type") == "tool_use":
                calls.append(_tool_call(block))
            # thinking and server-tool blocks carry nothing the caller acts on
        stop = data.get("stop_reason")
        stop = stop if isinstance(stop, str) else None
        return Answer("".join(texts), tuple(calls), STOP_REASONS.get(stop or "", "other"), stop)


def _wire_messages(messages: Sequence[Message]) -> tuple[str, list[dict[str, Any]]]:
    """The system prompt, and the conversation as alternating user and assistant turns."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            system.append(message.content)
            continue
        role, blocks = _blocks(message)
        if turns and turns[-1]["role"] == role:
            # the API wants roles to alternate; tool results of one answer share one turn
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return "\n\n".join(system), turns


def _blocks(
    message: UserMessage | AssistantMessage | ToolResultMessage,
) -> tuple[str, list[dict[str, Any]]]:
    match message:
        case UserMessage(content=content):
            return "user", [{"type": "text", "text": content}]
        case AssistantMessage(content=content, tool_calls=calls):
            blocks: list[dict[str, Any]] = [{"type": "text", "text": content}] if content else []
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                for c in calls
            ]
            return "assistant", blocks
        case ToolResultMessage(tool_call_id=call_id, content=content, is_error=is_error):
            block = {"type": "tool_result", "tool_use_id": call_id, "content": content}
            return "user", [{**block, "is_error": True} if is_error else block]


def _tool_call(block: Mapping[str, Any]) -> ToolCall:
    name, call_id, arguments = block.get("name"), block.get("id"), block.get("input")
    if not isinstance(name, str) or not isinstance(call_id, str):
        raise BodyError("a tool_use block has no name or id")
    if not isinstance(arguments, dict):
        # the model's mistake: the call goes back to it as an error result it can fix
        return ToolCall(
            id=call_id,
            name=name,
            arguments_error="not a JSON object",
            raw_arguments=json.dumps(arguments),
        )
    return ToolCall(id=call_id, name=name, arguments=arguments)
