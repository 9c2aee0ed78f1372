"""Fixtures for the model adapters: a loopback provider and the local model, loaded once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

from taskline.llm.anthropic import AnthropicModel
from taskline.llm.http_adapter import HttpAdapter
from taskline.llm.openai_compat import OpenAICompatModel
from taskline.llm.pricing import PriceBook
from taskline.llm.retry import RetryPolicy
from taskline.llm.types import ToolDefinition, UserMessage
from taskline.testing.provider_server import Api, ProviderServer
from tests.local_model import require_local_model

if TYPE_CHECKING:  # xllamacpp may be absent: the local tests then skip
    from taskline.llm.local import LocalRuntime

# Retries in tests wait a few milliseconds, not the production half second.
# An attempt's time limit no answer on loopback comes near, even on a loaded machine; the
# tests of timeouts give their own.
FAST_RETRY = RetryPolicy(max_attempts=3, timeout_seconds=30.0, base_delay_seconds=0.01)

SONNET = "claude-sonnet-4-20250514"
HELLO = [UserMessage(content="Say hello")]
"""A conversation of one message, for tests that do not care what it says."""
WEATHER = ToolDefinition(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ADAPTERS: dict[Api, tuple[type[OpenAICompatModel] | type[AnthropicModel], str]] = {
    "openai": (OpenAICompatModel, "gpt-4o-mini"),
    "anthropic": (AnthropicModel, SONNET),
}
"""The adapter of each wire format, and the model the tests ask it for."""


def http_adapter(
    api: Api, server: ProviderServer, *, retry: RetryPolicy = FAST_RETRY
) -> HttpAdapter:
    """gpt-4o-mini (OpenAI's format) or Claude Sonnet 4 (Anthropic's), priced by genai-prices
    as the provider's own, served by the loopback server."""
    adapter, name = ADAPTERS[api]
    return adapter(
        name,
        base_url=server.openai_base_url if api == "openai" else server.anthropic_base_url,
        api_key="test-key",
        retry=retry,
        genai_provider_id=api,
        price_book=PriceBook(),
    )


@pytest.fixture
def anyio_backend() -> str:
    """The adapters use asyncio.timeout, so tests run on asyncio."""
    return "asyncio"


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    """A fresh loopback provider for each test."""
    with ProviderServer() as provider:
        yield provider


@pytest.fixture
async def model(api: Api, server: ProviderServer) -> AsyncIterator[HttpAdapter]:
    """The adapter for the wire format `api` (a fixture of each test module), on `server`."""
    adapter = http_adapter(api, server)
    yield adapter
    await adapter.aclose()


@pytest.fixture(scope="session")
def local_runtime() -> LocalRuntime:
    """SmolLM2 loaded once for the whole session, computing on one thread.

    The suite runs in parallel (pytest-xdist) and keeps every core busy. llama.cpp's
    threads meet at a barrier in every layer, so while one waits for a CPU the others
    spin: beside two busy processes on two cores, the twenty answers of
    test_every_prompt_gets_a_valid_tool_call took 30-45 s on one thread and 100-240 s on
    two (one per core, the default). The tests here check the shape of answers, which
    any thread count gives.
    """
    require_local_model()
    from taskline.llm.local import load_runtime, smollm2_path

    return load_runtime(smollm2_path(), threads=1)
