"""Anthropic's Messages API, through the `anthropic` SDK.

As with the OpenAI adapter, the SDK sends the request and raises its errors
while we read the body ourselves, so that an unreadable answer still yields
the usage it was billed for.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import anthropic
import httpx2

from taskline.errors import ResponseParseError
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

DEFAULT_MAX_OUTPUT_TOKENS = 4096

STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}


class AnthropicModel:
    """A Claude model behind the Messages API (`/v1/messages`)."""

    shareable: ClassVar[bool] = True
    """Runs may share one instance (see `taskline.llm.pool`)."""

    def __init__(
        self,
        model: str,
        *,
        provider: str = "anthropic",
        base_url: str | None = None,
        api_key: str | None = None,
        retry: RetryPolicy | None = None,
        max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS,
        config_prices: TokenPrices | None = None,
        genai_provider_id: str | None = None,
        price_book: PriceBook = DEFAULT_PRICE_BOOK,
    ) -> None:
        """Talk to `base_url` with `api_key`; None leaves both to the SDK.

        The SDK then reads `ANTHROPIC_BASE_URL` and `ANTHROPIC_API_KEY`. Prices
        come from genai-prices for `genai_provider_id` (or, when None, for
        whatever provider `base_url` belongs to), else from `config_prices`.
        """
        self.provider = provider
        self.model = model
        self._retry = retry or RetryPolicy()
        self._max_output_tokens = max_output_tokens
        self._config_prices = config_prices
        self._genai_provider_id = genai_provider_id
        self._price_book = price_book
        # max_retries=0: every attempt is made, counted and timed by call_with_retries
        self._client = anthropic.AsyncAnthropic(
            base_url=base_url,
            api_key=api_key,
            http_client=anthropic.DefaultAsyncHttpxClient(verify=shared_ssl_context()),
            max_retries=0,
            timeout=self._retry.timeout_seconds,
        )

    @property
    def base_url(self) -> str:
        """Where requests go."""
        return str(self._client.base_url)

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition] = ()
    ) -> ModelResponse:
        """Send the conversation and the tools; return the model's answer."""
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
        # SDK's typed walk over every message.
        response = await self._client.post(
            "/v1/messages",
            cast_to=httpx2.Response,
            body=request,
            options={"timeout": self._retry.timeout_seconds},
        )
        return await response.aread()

    def _classify(self, exc: Exception) -> Failure | None:
        if isinstance(exc, anthropic.APITimeoutError):
            return timeout_failure(self._retry.timeout_seconds)
        if isinstance(exc, anthropic.APIConnectionError):
            return connection_failure(exc)
        if isinstance(exc, anthropic.APIStatusError):
            return status_failure(exc.status_code, exc.response.headers, exc.body, exc.message)
        return None

    def _read(self, retried: Retried[bytes], latency_ms: float) -> ModelResponse:
        body = retried.value
        usage: Usage | None = None
        raw_usage: dict[str, Any] | None = None
        price = UNKNOWN
        try:
            data = decode_object(body)
            usage_object = mapping(data, "usage")
            raw_usage = None if usage_object is None else dict(usage_object)
            usage = _usage(usage_object)
            price = self._price(usage)
            text, tool_calls = _content(data)
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
        raw_stop = data.get("stop_reason")
        raw_stop = raw_stop if isinstance(raw_stop, str) else None
        finish = STOP_REASONS.get(raw_stop or "", "other")
        return ModelResponse(
            text=text,
            tool_calls=tool_calls,
            finish_reason=finish_with_calls(finish, bool(tool_calls)),
            provider_finish_reason=raw_stop,
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

    def _price(self, usage: Usage) -> Price:
        return self._price_book.price(
            usage,
            provider=self.provider,
            model=self.model,
            genai_provider_id=self._genai_provider_id,
            genai_api_url=None if self._genai_provider_id else self.base_url,
            config_prices=self._config_prices,
        )


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


def _usage(usage: Mapping[str, Any] | None) -> Usage:
    if usage is None:
        raise BodyError("no usage in the response")
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


def _content(data: Mapping[str, Any]) -> tuple[str, tuple[ToolCall, ...]]:
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
    return "".join(texts), tuple(calls)


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
