"""The skeleton of every adapter for a provider's HTTP API, reached through its SDK.

A provider's adapter only shapes the request and reads the answer out of the
response; `HttpAdapter` does the rest, the same way for every provider:

    complete   the adapter's request body, posted by the SDK and retried by
               `call_with_retries`; the SDK's exceptions classified as failures
    read       the body decoded here, the usage and the answer read by the
               adapter, the call priced, one `ModelResponse` returned

The SDK sends the request and raises its errors, while we read the body
ourselves, so that a response we cannot make sense of still yields the usage it
was billed for.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple, Protocol, TypedDict

import httpx2

from taskline.errors import ModelReferenceError, ResponseParseError
from taskline.llm.pricing import DEFAULT_PRICE_BOOK, UNKNOWN, Price, PriceBook, TokenPrices
from taskline.llm.retry import Failure, Retried, RetryPolicy, call_with_retries
from taskline.llm.types import (
    FinishReason,
    Message,
    ModelResponse,
    ToolCall,
    ToolDefinition,
    Usage,
    finish_with_calls,
)
from taskline.llm.wire import (
    BodyError,
    connection_failure,
    decode_object,
    excerpt,
    mapping,
    shared_ssl_context,
    status_failure,
    timeout_failure,
)


class SdkClient(Protocol):
    """The part of an SDK's async client the skeleton uses."""

    @property
    def base_url(self) -> httpx2.URL:
        """Where requests go."""
        ...

    async def post(
        self, path: str, *, cast_to: type[httpx2.Response], body: Any, options: Any
    ) -> httpx2.Response:
        """Send `body` to `path`; raise the SDK's exceptions on failure."""
        ...

    async def close(self) -> None:
        """Close the connection pool."""
        ...

    def is_closed(self) -> bool:
        """Whether `close` was called."""
        ...


class SdkStatusError(Protocol):
    """The exception an SDK raises when the server answers with an error status."""

    @property
    def status_code(self) -> int: ...
    @property
    def response(self) -> httpx2.Response: ...
    @property
    def body(self) -> object: ...
    @property
    def message(self) -> str: ...


class GeneratedSdk(Protocol):
    """The parts of an SDK module the skeleton uses that its generator names alike.

    The `openai` and `anthropic` SDKs come from the same generator (Stainless),
    so each module has these, under these names and with the same shapes.
    """

    @property
    def DefaultAsyncHttpxClient(self) -> Callable[..., httpx2.AsyncClient]:
        """The HTTP client with the SDK's default settings."""
        ...

    @property
    def APITimeoutError(self) -> type[Exception]:
        """Raised when the SDK gave up waiting for the answer."""
        ...

    @property
    def APIConnectionError(self) -> type[Exception]:
        """Raised when the connection failed or dropped (the timeout error is one too)."""
        ...

    @property
    def APIStatusError(self) -> type[SdkStatusError]:
        """Raised when the server answered with an error status."""
        ...


@dataclass(frozen=True)
class HttpApi:
    """A provider's HTTP API, as its SDK reaches it."""

    sdk: GeneratedSdk
    """The SDK module, e.g. `openai`."""
    client: Callable[..., SdkClient]
    """The SDK's async client class, e.g. `openai.AsyncOpenAI`."""
    error: type[Exception]
    """The base of the SDK's exceptions, e.g. `openai.OpenAIError`; the client raises it
    for settings it cannot use."""
    path: str
    """The endpoint, relative to the base URL, e.g. `/chat/completions`."""


class HttpSettings(TypedDict, total=False):
    """The keywords of `HttpAdapter.__init__` that every adapter passes on as they are."""

    base_url: str | None
    api_key: str | None
    retry: RetryPolicy | None
    config_prices: TokenPrices | None
    genai_provider_id: str | None
    price_book: PriceBook


class Answer(NamedTuple):
    """What an adapter reads from a response besides the usage."""

    text: str
    """The text of the answer; empty when the model only called tools."""
    tool_calls: tuple[ToolCall, ...]
    """Tools the model asked to run, in order."""
    finish_reason: FinishReason
    """Why the model stopped, as we say it (`other` for what we do not know)."""
    provider_finish_reason: str | None
    """Why the model stopped, in the provider's words; None when it did not say."""


class HttpAdapter(ABC):
    """A model behind a provider's HTTP API; a subclass shapes requests and reads answers."""

    shareable: ClassVar[bool] = True
    """Runs may share one instance (see `taskline.llm.pool`)."""
    api: ClassVar[HttpApi]
    """The provider's API and SDK."""

    def __init__(
        self,
        model: str,
        *,
        provider: str,
        base_url: str | None = None,
        api_key: str | None = None,
        retry: RetryPolicy | None = None,
        config_prices: TokenPrices | None = None,
        genai_provider_id: str | None = None,
        price_book: PriceBook = DEFAULT_PRICE_BOOK,
    ) -> None:
        """Talk to `base_url` with `api_key`; None leaves both to the SDK.

        Prices come from genai-prices for `genai_provider_id` (or, when None, for
        whatever provider `base_url` belongs to), else from `config_prices`.
        """
        self.provider = provider
        self.model = model
        self._retry = retry or RetryPolicy()
        self._config_prices = config_prices
        self._genai_provider_id = genai_provider_id
        self._price_book = price_book
        try:
            # max_retries=0: every attempt is made, counted and timed by call_with_retries
            self._client = self.api.client(
                base_url=base_url,
                api_key=api_key,
                http_client=self.api.sdk.DefaultAsyncHttpxClient(verify=shared_ssl_context()),
                max_retries=0,
                timeout=self._retry.timeout_seconds,
            )
        except self.api.error as exc:
            raise ModelReferenceError(f"{provider}:{model}", str(exc)) from exc

    @property
    def base_url(self) -> str:
        """Where requests go."""
        return str(self._client.base_url)

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition] = ()
    ) -> ModelResponse:
        """Send the conversation and the tools; return the model's answer."""
        request = self._request(messages, tools)
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

    @abstractmethod
    def _request(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition]
    ) -> dict[str, Any]:
        """The request body, in the provider's wire format."""

    @abstractmethod
    def _read_usage(self, usage: Mapping[str, Any]) -> Usage:
        """The usage object of a response as our `Usage`; `BodyError` when unreadable."""

    def _read_reported_cost(self, usage: Mapping[str, Any]) -> Decimal | None:
        """What the provider says the call cost, read from the usage object; most say nothing."""
        return None

    @abstractmethod
    def _read_answer(self, data: Mapping[str, Any]) -> Answer:
        """The text, tool calls and finish reason of a response; `BodyError` when unreadable."""

    async def _post(self, request: dict[str, Any]) -> bytes:
        # The request is wire-shaped already: the client's low-level post skips the
        # SDK's typed walk over every message, which cost more than the rest of a turn.
        response = await self._client.post(
            self.api.path,
            cast_to=httpx2.Response,
            body=request,
            options={"timeout": self._retry.timeout_seconds},
        )
        return await response.aread()

    def _classify(self, exc: Exception) -> Failure | None:
        sdk = self.api.sdk
        if isinstance(exc, sdk.APITimeoutError):  # before APIConnectionError: it is one
            return timeout_failure(self._retry.timeout_seconds)
        if isinstance(exc, sdk.APIConnectionError):
            return connection_failure(exc)
        if isinstance(exc, sdk.APIStatusError):
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
            reported_cost = self._read_reported_cost(usage_object) if usage_object else None
            if reported_cost is not None:
                price = Price(reported_cost, "provider")  # kept even if the counts are broken
            if usage_object is None:
                raise BodyError("no usage in the response")
            usage = self._read_usage(usage_object)
            price = self._price(usage, reported_cost)
            answer = self._read_answer(data)
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
            text=answer.text,
            tool_calls=answer.tool_calls,
            finish_reason=finish_with_calls(answer.finish_reason, bool(answer.tool_calls)),
            provider_finish_reason=answer.provider_finish_reason,
            usage=usage,
            raw_usage=raw_usage,
            provider=self.provider,
            model=self.model,
            response_model=_text(data, "model"),
            response_id=_text(data, "id"),
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


def _text(data: Mapping[str, Any], key: str) -> str | None:
    """`data[key]` if it is a string: both wire formats name the answer's id and model so."""
    value = data.get(key)
    return value if isinstance(value, str) else None
