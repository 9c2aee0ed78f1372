"""Any OpenAI-compatible chat-completions endpoint, through the `openai` SDK.

OpenAI itself, OpenRouter, vLLM, the llama.cpp server, Ollama, LM Studio, …
The SDK sends the request and raises its errors; we read the body ourselves, so
that a response we cannot make sense of still yields the usage it was billed
for.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import httpx2
import openai

from taskline.errors import ModelReferenceError, ResponseParseError
from taskline.llm.pricing import DEFAULT_PRICE_BOOK, UNKNOWN, Price, PriceBook, TokenPrices
from taskline.llm.retry import Failure, Retried, RetryPolicy, call_with_retries
from taskline.llm.types import (
    AssistantMessage,
    FinishReason,
    Message,
    ModelResponse,
    SystemMessage,
    ToolCall,
    ToolDefinition,
    ToolResultMessage,
    Usage,
    UserMessage,
    finish_with_calls,
)
from taskline.llm.wire import (
    BodyError,
    connection_failure,
    count,
    decode_object,
    excerpt,
    mapping,
    shared_ssl_context,
    status_failure,
    timeout_failure,
)

FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "length": "length",
    "content_filter": "content_filter",
}


class OpenAICompatModel:
    """A model behind an OpenAI-compatible `/chat/completions` endpoint."""

    shareable: ClassVar[bool] = True
    """Runs may share one instance (see `taskline.llm.pool`)."""

    def __init__(
        self,
        model: str,
        *,
        provider: str = "openai",
        base_url: str | None = None,
        api_key: str | None = None,
        retry: RetryPolicy | None = None,
        config_prices: TokenPrices | None = None,
        genai_provider_id: str | None = None,
        price_book: PriceBook = DEFAULT_PRICE_BOOK,
        tool_choice: str | dict[str, Any] | None = None,
    ) -> None:
        """Talk to `base_url` with `api_key`; None leaves both to the SDK.

        The SDK then reads `OPENAI_BASE_URL` and `OPENAI_API_KEY`. Prices come
        from genai-prices for `genai_provider_id` (or, when None, for whatever
        provider `base_url` belongs to), else from `config_prices`.
        `tool_choice` is sent as it is whenever tools are offered, e.g.
        `"required"`, or `{"type": "function", "function": {"name": "f"}}` for
        servers (such as llama-cpp-python's) that call tools only when told which.
        """
        self.provider = provider
        self.model = model
        self._retry = retry or RetryPolicy()
        self._config_prices = config_prices
        self._genai_provider_id = genai_provider_id
        self._price_book = price_book
        self._tool_choice = tool_choice
        try:
            # max_retries=0: every attempt is made, counted and timed by call_with_retries
            self._client = openai.AsyncOpenAI(
                base_url=base_url,
                api_key=api_key,
                http_client=openai.DefaultAsyncHttpxClient(verify=shared_ssl_context()),
                max_retries=0,
                timeout=self._retry.timeout_seconds,
            )
        except openai.OpenAIError as exc:
            raise ModelReferenceError(f"{provider}:{model}", str(exc)) from exc

    @property
    def base_url(self) -> str:
        """Where requests go."""
        return str(self._client.base_url)

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition] = ()
    ) -> ModelResponse:
        """Send the conversation and the tools; return the model's answer."""
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [_wire_message(message) for message in messages],
        }
        if tools:
            request["tools"] = [_wire_tool(tool) for tool in tools]
            if self._tool_choice is not None:
                request["tool_choice"] = self._tool_choice
        started = time.perf_counter()
        retried = await call_with_retries(
            lambda: self._post(request),
            self._classify,
            policy=self._retry,
            provider=self.provider,
            model=self.model,
        )
        latency_ms = (time.perf_counter() - started) * 1000
        return self._read(retried, latency_ms)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.close()

    async def _post(self, request: dict[str, Any]) -> bytes:
        # The request is wire-shaped already: the client's low-level post skips the
        # SDK's typed walk over every message, which cost more than the rest of a turn.
        response = await self._client.post(
            "/chat/completions",
            cast_to=httpx2.Response,
            body=request,
            options={"timeout": self._retry.timeout_seconds},
        )
        return await response.aread()

    def _classify(self, exc: Exception) -> Failure | None:
        if isinstance(exc, openai.APITimeoutError):
            return timeout_failure(self._retry.timeout_seconds)
        if isinstance(exc, openai.APIConnectionError):
            return connection_failure(exc)
        if isinstance(exc, openai.APIStatusError):
            return status_failure(exc.status_code, exc.response.headers, exc.body, exc.message)
        return None

    def _read(self, retried: Retried[bytes], latency_ms: float) -> ModelResponse:
        body = retried.value
        usage: Usage | None = None
        raw_usage: dict[str, Any] | None = None
        price = UNKNOWN
        try:
            data = decode_object(body)
            raw_usage = _raw_usage(data)
            reported_cost = _reported_cost(raw_usage) if raw_usage else None
            if reported_cost is not None:
                price = Price(reported_cost, "provider")  # kept even if the counts are broken
            usage = _usage(raw_usage)
            price = self._price(usage, reported_cost)
            text, tool_calls, finish, raw_finish = _choice(data)
        except BodyError as exc:
            # the call was billed before reading failed: keep what it cost
            raise ResponseParseError(
                provider=self.provider,
                model=self.model,
                detail=str(exc),
                usage=usage,
                raw_usage=raw_usage,
                cost_usd=price.cost_usd,
                price_source=price.source,
                body_excerpt=excerpt(body),
                attempts=retried.attempts,
                attempt_errors=retried.attempt_errors,
            ) from exc
        return ModelResponse(
            text=text,
            tool_calls=tool_calls,
            finish_reason=finish,
            provider_finish_reason=raw_finish,
            usage=usage,
            raw_usage=raw_usage,
            provider=self.provider,
            model=self.model,
            cost_usd=price.cost_usd,
            price_source=price.source,
            latency_ms=latency_ms,
            attempts=retried.attempts,
            attempt_errors=retried.attempt_errors,
        )

    def _price(self, usage: Usage, reported_cost_usd: Decimal | None) -> Price:
        return self._price_book.price(
            usage,
            provider=self.provider,
            model=self.model,
            reported_cost_usd=reported_cost_usd,
            genai_provider_id=self._genai_provider_id,
            genai_api_url=None if self._genai_provider_id else self.base_url,
            config_prices=self._config_prices,
        )


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


def _raw_usage(data: Mapping[str, Any]) -> dict[str, Any] | None:
    usage = mapping(data, "usage")
    return None if usage is None else dict(usage)


def _usage(usage: Mapping[str, Any] | None) -> Usage:
    if usage is None:
        raise BodyError("no usage in the response")
    prompt_details = mapping(usage, "prompt_tokens_details")
    completion_details = mapping(usage, "completion_tokens_details")
    return Usage.reported(
        input_tokens=count(usage, "prompt_tokens"),
        output_tokens=count(usage, "completion_tokens"),
        cache_read_tokens=count(prompt_details, "cached_tokens"),
        cache_write_tokens=count(prompt_details, "cache_write_tokens"),
        reasoning_tokens=count(completion_details, "reasoning_tokens"),
    )


def _reported_cost(usage: Mapping[str, Any]) -> Decimal | None:
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


def _amount(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _choice(data: Mapping[str, Any]) -> tuple[str, tuple[ToolCall, ...], FinishReason, str | None]:
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
    raw_finish = choices[0].get("finish_reason")
    finish = FINISH_REASONS.get(raw_finish, "other") if isinstance(raw_finish, str) else "other"
    finish = finish_with_calls(finish, bool(calls))
    return text, calls, finish, raw_finish if isinstance(raw_finish, str) else None


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
