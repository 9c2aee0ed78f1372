"""Prices: the endpoint's own figure, then genai-prices (offline), then the config, else unknown."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from taskline.llm import Usage, pricing
from taskline.llm.pricing import Price, PriceBook, TokenPrices

SONNET = "claude-sonnet-4-20250514"
CONFIG = TokenPrices(
    input_usd_per_mtok=Decimal("0.50"),
    output_usd_per_mtok=Decimal("1.50"),
    cache_read_usd_per_mtok=Decimal("0.05"),
    cache_write_usd_per_mtok=Decimal("0.625"),
)


def test_gpt_4o_mini_at_published_prices() -> None:
    # $0.15 input, $0.075 cached input, $0.60 output per million tokens
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    cached = Usage(input_tokens=1_000_000, output_tokens=0, cache_read_tokens=1_000_000)

    book = PriceBook()

    assert book.price(
        usage, provider="openai", model="gpt-4o-mini", genai_provider_id="openai"
    ) == (Price(Decimal("0.75"), "genai-prices"))
    assert book.price(
        cached, provider="openai", model="gpt-4o-mini", genai_provider_id="openai"
    ) == Price(Decimal("0.075"), "genai-prices")


def test_gpt_4o_mini_small_call_with_cached_tokens() -> None:
    usage = Usage(input_tokens=1_000, output_tokens=500, cache_read_tokens=400)

    price = PriceBook().price(
        usage, provider="openai", model="gpt-4o-mini", genai_provider_id="openai"
    )

    # 600 * 0.15 + 400 * 0.075 + 500 * 0.60 = 420 micro-dollars
    assert price == Price(Decimal("0.00042"), "genai-prices")


def test_claude_sonnet_with_cache_reads_and_writes() -> None:
    # $3 input, $15 output, $0.30 cache read, $3.75 cache write per million tokens
    usage = Usage(
        input_tokens=100_000,
        output_tokens=10_000,
        cache_read_tokens=50_000,
        cache_write_tokens=20_000,
    )

    price = PriceBook().price(
        usage, provider="anthropic", model=SONNET, genai_provider_id="anthropic"
    )

    # 30k * 3 + 50k * 0.30 + 20k * 3.75 + 10k * 15 = 0.09 + 0.015 + 0.075 + 0.15
    assert price == Price(Decimal("0.33"), "genai-prices")


def test_provider_lookup_by_base_url() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)

    price = PriceBook().price(
        usage,
        provider="openrouter",
        model="openai/gpt-4o-mini",
        genai_api_url="https://openrouter.ai/api/v1/",  # as the adapters pass it
    )

    assert price == Price(Decimal("0.75"), "genai-prices")


def test_reported_cost_comes_first() -> None:
    price = PriceBook().price(
        Usage(input_tokens=1_000_000),
        provider="openai",
        model="gpt-4o-mini",
        reported_cost_usd=Decimal("0.01"),
        genai_provider_id="openai",
        config_prices=CONFIG,
    )

    assert price == Price(Decimal("0.01"), "provider")


def test_config_prices_when_the_table_does_not_know_the_model() -> None:
    usage = Usage(
        input_tokens=1_000_000,
        output_tokens=2_000_000,
        cache_read_tokens=200_000,
        cache_write_tokens=100_000,
    )

    price = PriceBook().price(
        usage, provider="house", model="house-7b", genai_provider_id="openai", config_prices=CONFIG
    )

    # 700k * 0.50 + 200k * 0.05 + 100k * 0.625 + 2M * 1.50
    assert price == Price(Decimal("3.4225"), "config")


def test_cache_tokens_without_their_own_price_cost_as_input() -> None:
    prices = TokenPrices(input_usd_per_mtok=Decimal("2"), output_usd_per_mtok=Decimal("0"))
    usage = Usage(input_tokens=1_000_000, cache_read_tokens=250_000, cache_write_tokens=250_000)

    assert prices.cost_usd(usage) == Decimal("2")


def test_unknown_price_is_none_and_warned_once(caplog: pytest.LogCaptureFixture) -> None:
    book = PriceBook()
    usage = Usage(input_tokens=10, output_tokens=10)

    with caplog.at_level(logging.WARNING, logger="taskline.llm.pricing"):
        first = book.price(
            usage, provider="openai", model="no-such-model", genai_provider_id="openai"
        )
        second = book.price(
            usage, provider="openai", model="no-such-model", genai_provider_id="openai"
        )
        other = book.price(usage, provider="house", model="no-such-model")

    assert first == second == other == Price(None, "unknown")
    assert caplog.messages == [
        "no price known for openai:no-such-model; its cost is recorded as unknown."
        " Add prices to the endpoint in taskline.toml to count it.",
        "no price known for house:no-such-model; its cost is recorded as unknown."
        " Add prices to the endpoint in taskline.toml to count it.",
    ]


def test_unknown_is_not_zero_even_for_zero_tokens() -> None:
    price = PriceBook().price(Usage(), provider="local-vllm", model="mystery")

    assert price.cost_usd is None
    assert price.source == "unknown"


def test_prices_come_from_the_bundled_table_not_the_network() -> None:
    from genai_prices import data_snapshot

    PriceBook().price(
        Usage(input_tokens=1), provider="openai", model="gpt-4o", genai_provider_id="openai"
    )

    assert data_snapshot.get_snapshot().from_auto_update is False


def test_a_model_the_table_does_not_list_is_looked_up_once_and_config_prices_still_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looked_up: list[str] = []
    real = pricing.genai_prices_cost

    def counted(usage: Usage, model: str, **where: str | None) -> Decimal | None:
        looked_up.append(model)
        return real(usage, model, **where)

    monkeypatch.setattr(pricing, "genai_prices_cost", counted)
    book = PriceBook()
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    url = "http://127.0.0.1:8000/v1"  # a self-hosted endpoint: the table knows no such host

    prices = [
        book.price(
            usage, provider="vllm", model="house-7b", genai_api_url=url, config_prices=CONFIG
        )
        for _ in range(3)
    ]
    listed = [
        book.price(usage, provider="openai", model="gpt-4o-mini", genai_provider_id="openai")
        for _ in range(2)
    ]

    assert prices == [Price(Decimal("2.00"), "config")] * 3
    assert listed == [Price(Decimal("0.75"), "genai-prices")] * 2
    assert looked_up == ["house-7b", "gpt-4o-mini", "gpt-4o-mini"]
