"""Real responses of real providers, served on loopback and read through the real SDKs.

Each body in `recorded/` is what a provider sent (see its README). The expected
values are read off the raw JSON by hand; expected costs come from the
provider's own `usage.cost` or from the `genai-prices` API directly, never from
taskline's pricing code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import genai_prices
import pytest

from taskline.llm import ToolCall, ToolDefinition, Usage, UserMessage
from taskline.llm.anthropic import AnthropicModel
from taskline.llm.openai_compat import OpenAICompatModel
from taskline.llm.pricing import PriceBook
from taskline.llm.types import ModelResponse
from taskline.testing.provider_server import ProviderServer, Reply

from .conftest import FAST_RETRY

pytestmark = pytest.mark.anyio

RECORDED = Path(__file__).parent / "recorded"
TOOL = ToolDefinition(name="any_tool")


@dataclass(frozen=True)
class Expected:
    file: str
    genai_provider: str | None
    """genai-prices provider id, or None when the provider reports its own cost."""
    text: str
    calls: tuple[ToolCall, ...]
    usage: Usage
    finish_reason: str
    provider_cost_usd: Decimal | None = None


CASES = [
    Expected(
        "openai_gpt4o_tool_call.json", "openai", "",
        (ToolCall(id="call_iXFttys57ap0o16JSlC8yhYo", name="get_user_country"),),
        Usage(input_tokens=68, output_tokens=12), "tool_calls",
    ),
    Expected(
        "openai_cache_write.json", "openai", "OK", (),
        Usage(input_tokens=4020, output_tokens=4, cache_write_tokens=4012), "stop",
    ),
    Expected(
        "anthropic_sonnet_tool_use.json", "anthropic",
        "I'll load the refunds capability and then immediately use it -- let me start by"
        " loading it first.",
        (
            ToolCall(
                id="toolu_01JzwQ18FJQr29z9vLFKFBao",
                name="load_capability",
                arguments={"id": "refunds"},
            ),
        ),
        Usage(input_tokens=658, output_tokens=76), "tool_calls",
    ),
    Expected(
        "openrouter_claude_cost.json", None, "Hello! How can I help you today?", (),
        Usage(input_tokens=550, output_tokens=12), "stop", Decimal("0.00183"),
    ),
    Expected(
        # a key of the user's own: OpenRouter's fee (0) plus the upstream provider's bill
        "openrouter_gemini_tool_call_byok.json", None, "",
        (
            ToolCall(
                id="tool_insert_level_with_spaces_3ZiChYzj8xER8HixJe7W",
                name="insert_level_with_spaces",
                arguments={
                    "spaces": [
                        {"space_type": "entryway", "space_name": "entryway"},
                        {"space_name": "living_room", "space_type": "living-room"},
                        {"space_name": "garage", "space_type": "garage"},
                    ],
                    "level": {"level_type": "ground", "level_name": "ground_floor"},
                },
            ),
        ),
        Usage(input_tokens=326, output_tokens=91), "tool_calls", Decimal("0.0003253"),
    ),
    Expected(
        "deepseek_cache_reasoning_tool_call.json", "deepseek",
        "Let me load the dice rolling capability!",
        (
            ToolCall(
                id="call_00_sXqYgMESDht75NCLLZtt9804",
                name="load_capability",
                arguments={"id": "DICE_ROLL"},
            ),
        ),
        Usage(input_tokens=563, output_tokens=116, cache_read_tokens=512, reasoning_tokens=60),
        "tool_calls",
    ),
    Expected(
        # Snowflake Cortex sends finish_reason "" with a tool call
        "snowflake_empty_finish_tool_call.json", None, "",
        (
            ToolCall(
                id="toolu_bdrk_015BgHUFs4HS1TVWWwNRNxip",
                name="get_weather",
                arguments={"city": "Mexico City"},
            ),
        ),
        Usage(input_tokens=568, output_tokens=55), "tool_calls",
    ),
    Expected(
        "groq_gpt_oss_tool_call.json", "groq", "",
        (
            ToolCall(
                id="fc_311ba17b-89f9-48d3-8fd9-7e74a1264855",
                name="get_something_by_name",
                arguments={"name": "test"},
            ),
        ),
        Usage(input_tokens=301, output_tokens=52, reasoning_tokens=22), "tool_calls",
    ),
    Expected(
        "mistral_pixtral_tool_call.json", "mistral", "",
        (ToolCall(id="FI5qQGzDE", name="get_image"),),
        Usage(input_tokens=65, output_tokens=16), "tool_calls",
    ),
    Expected(
        "cerebras_qwen_tool_call.json", "cerebras", "",
        (
            ToolCall(
                id="b8847f144",
                name="final_result",
                arguments={"city": "Paris", "country": "France"},
            ),
        ),
        Usage(input_tokens=364, output_tokens=33), "tool_calls",
    ),
]  # fmt: skip


def _body(case: Expected) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((RECORDED / case.file).read_text())
    return body


def _expected_cost(case: Expected, model: str) -> tuple[Decimal | None, str]:
    if case.provider_cost_usd is not None:
        return case.provider_cost_usd, "provider"
    if case.genai_provider is None:
        return None, "unknown"
    usage = case.usage
    price = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
        ),
        model,
        provider_id=case.genai_provider,
    )
    return price.total_price, "genai-prices"


async def _complete(case: Expected, server: ProviderServer, model_name: str) -> ModelResponse:
    server.enqueue(Reply.raw(_body(case)))
    messages = [UserMessage(content="go")]
    adapter: OpenAICompatModel | AnthropicModel
    if case.file.startswith("anthropic"):
        adapter = AnthropicModel(
            model_name,
            base_url=server.anthropic_base_url,
            api_key="k",
            retry=FAST_RETRY,
            genai_provider_id=case.genai_provider,
            price_book=PriceBook(),
        )
    else:
        adapter = OpenAICompatModel(
            model_name,
            provider=case.file.split("_")[0],
            base_url=server.openai_base_url,
            api_key="k",
            retry=FAST_RETRY,
            genai_provider_id=case.genai_provider,
            price_book=PriceBook(),
        )
    try:
        return await adapter.complete(messages, [TOOL])
    finally:
        await adapter.aclose()


@pytest.mark.parametrize("case", CASES, ids=[case.file.removesuffix(".json") for case in CASES])
async def test_recorded_response_reads_as_the_provider_sent_it(
    case: Expected, server: ProviderServer
) -> None:
    body = _body(case)
    model_name = body["model"]

    response = await _complete(case, server, model_name)

    assert response.text == case.text
    assert response.tool_calls == case.calls
    assert response.usage == case.usage
    assert response.finish_reason == case.finish_reason
    assert response.raw_usage == body["usage"]
    assert (response.cost_usd, response.price_source) == _expected_cost(case, model_name)


async def test_overlapping_cache_counts_are_fitted_into_the_input(server: ProviderServer) -> None:
    """OpenRouter once reported the same 2,161 tokens as cache read and cache write,
    with 2,168 input tokens in all, and its own cost: the cost and totals are kept."""
    body = _body(CASES[3])
    body["usage"] = {
        "prompt_tokens": 2168,
        "completion_tokens": 40,
        "total_tokens": 2208,
        "cost": 0.00129,
        "prompt_tokens_details": {"cached_tokens": 2161, "cache_write_tokens": 2161},
    }
    server.enqueue(Reply.raw(body))
    adapter = OpenAICompatModel(
        "anthropic/claude-sonnet-4.5",
        provider="openrouter",
        base_url=server.openai_base_url,
        api_key="k",
        retry=FAST_RETRY,
        price_book=PriceBook(),
    )
    try:
        response = await adapter.complete([UserMessage(content="go")])
    finally:
        await adapter.aclose()

    assert response.usage == Usage(
        input_tokens=2168, output_tokens=40, cache_read_tokens=2161, cache_write_tokens=7
    )
    assert (response.cost_usd, response.price_source) == (Decimal("0.00129"), "provider")
    assert response.raw_usage == body["usage"]
