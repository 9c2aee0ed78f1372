"""Any OpenAI-compatible chat-completions endpoint, through the `openai` SDK.

OpenAI itself, OpenRouter, vLLM, the llama.cpp server, Ollama, LM Studio, …
This module shapes the request and reads the answer, allowing for servers that
leave out tool call ids, send arguments as an object, or report a cost of their
own in the usage object (OpenRouter); `taskline.llm.http_adapter.HttpAdapter`
posts, retries and prices.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Unpack

import openai

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

FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "length": "length",
    "content_filter": "content_filter",
}


class OpenAICompatModel(HttpAdapter):
    """A model behind an OpenAI-compatible `/chat/completions` endpoint.

    Messages go as they are, one after another; tools as functions with their
    JSON Schema; tool calls come back with their arguments as a JSON string.
    """

    api = HttpApi(openai, openai.AsyncOpenAI, openai.OpenAIError, "/chat/completions")

    def __init__(
        self,
        model: str,
        *,
        tool_choice: str | dict[str, Any] | None = None,
        provider: str = "openai",
        **settings: Unpack[HttpSettings],
    ) -> None:
        """Send `tool_choice` with the tools; the rest as in `HttpAdapter`.

        Without `base_url` or `api_key`, the SDK reads `OPENAI_BASE_URL` and
        `OPENAI_API_KEY`. `tool_choice` is sent as it is whenever tools are offered, e.g.
        `"required"`, or `{"type": "function", "function": {"name": "f"}}` for
        servers (such as llama-cpp-python's) that call tools only when told which.
        """
        super().__init__(model, provider=provider, **settings)
        self._tool_choice = tool_choice

    def _request(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition]
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [_wire_message(message) for message in messages],
        }
        if tools:
            request["tools"] = [_wire_tool(tool) for tool in tools]
            if self._tool_choice is not None:
                request["tool_choice"] = self._tool_choice
        return request

    def _read_usage(self, usage: Mapping[str, Any]) -> Usage:
        prompt_details = mapping(usage, "prompt_tokens_details")
        completion_details = mapping(usage, "completion_tokens_details")
        return Usage.reported(
            input_tokens=count(usage, "prompt_tokens"),
            output_tokens=count(usage, "completion_tokens"),
            cache_read_tokens=count(prompt_details, "cached_tokens"),
            cache_write_tokens=count(prompt_details, "cache_write_tokens"),
            reasoning_tokens=count(completion_details, "reasoning_tokens"),
        )

    def _read_reported_cost(self, usage: Mapping[str, Any]) -> Decimal | None:
        # OpenRouter (and a few others) put the billed amount in usage.cost. With a key of
        # the user's own (BYOK) that is only OpenRouter's fee: the upstream provider bills
        # its inference apart, and OpenRouter reports that as upstream_inference_cost.
        cost = _amount(usage.get("cost"))
        details = usage.get("cost_details")
        if cost is not None and usage.get("is_byok") is True and isinstance(details, Mapping):
            upstream = _amount(details.get("upstream_inference_cost"))
            if upstream is not None:
                return cost + upstream
        return cost

    def _read_answer(self, data: Mapping[str, Any]) -> Answer:
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
            raise BodyError("no choices in the response")
        message = mapping(choices[0], "message")
        if message is None:
            raise BodyError("the first choice has no message")
        text = message.get("content") or ""
        if not isinstance(text, str):
            raise BodyError("message content is not a string")
        calls = tuple(_tool_call(call, i) for i, call in enumerate(message.get("tool_calls") or ()))
        finish = choices[0].get("finish_reason")
        finish = finish if isinstance(finish, str) else None
        return Answer(text, calls, FINISH_REASONS.get(finish or "", "other"), finish)


def _wire_message(message: Message) -> dict[str, Any]:
    match message:
        case SystemMessage(content=content):
            return {"role": "system", "content": content}
        case UserMessage(content=content):
            return {"role": "user", "content": content}
        case AssistantMessage(content=content, tool_calls=calls):
            wire: dict[str, Any] = {"role": "assistant", "content": content or None}
            if calls:
                wire["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": _wire_arguments(call)},
                    }
                    for call in calls
                ]
            return wire
        case ToolResultMessage(tool_call_id=call_id, content=content, is_error=is_error):
            return {
                "role": "tool",
                "tool_call_id": call_id,
                "content": f"ERROR: {content}" if is_error else content,
            }


def _wire_tool(tool: ToolDefinition) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }


def _wire_arguments(call: ToolCall) -> str:
    # An unreadable call goes back as the model wrote it, beside the error it caused.
    if call.raw_arguments is not None:
        return call.raw_arguments
    return json.dumps(call.arguments)


def _amount(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _tool_call(call: object, index: int) -> ToolCall:
    if not isinstance(call, Mapping):
        raise BodyError("a tool call is not an object")
    function = mapping(call, "function")
    if function is None or not isinstance(function.get("name"), str):
        raise BodyError("a tool call has no function name")
    name = function["name"]
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        call_id = f"call_{index}"  # some servers leave ids out; results must still refer to one
    raw_arguments = function.get("arguments") or "{}"
    if isinstance(raw_arguments, Mapping):  # a few servers send the object itself
        return ToolCall(id=call_id, name=name, arguments=dict(raw_arguments))
    if not isinstance(raw_arguments, str):
        raw_arguments = json.dumps(raw_arguments)
    # Unreadable arguments are the model's mistake, not the provider's: the call is kept,
    # marked, and goes back to the model as an error result it can fix.
    try:
        arguments = json.loads(raw_arguments)
    except ValueError as exc:
        return _unreadable(call_id, name, raw_arguments, f"not JSON ({exc})")
    except RecursionError:
        return _unreadable(call_id, name, raw_arguments, "not JSON (nested too deeply)")
    if not isinstance(arguments, dict):
        return _unreadable(call_id, name, raw_arguments, "not a JSON object")
    return ToolCall(id=call_id, name=name, arguments=arguments)


def _unreadable(call_id: str, name: str, raw_arguments: str, why: str) -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments_error=why, raw_arguments=raw_arguments)
