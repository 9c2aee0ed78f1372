"""What a model call cost, in US dollars, and where that figure came from.

The first source that knows wins:

1. `provider`     the cost the endpoint reported itself (OpenRouter's `usage.cost`);
2. `genai-prices` the price table bundled with the `genai-prices` package, used
                  offline: taskline never starts its auto-update, so pricing
                  never touches the network;
3. `config`       the prices of the endpoint in taskline.toml;
4. `unknown`      cost None, never zero, and a warning logged once per
                  (provider, model) for each `PriceBook`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from taskline.llm.types import PriceSource, Usage

logger = logging.getLogger(__name__)

TOKENS_PER_MTOK = Decimal(1_000_000)


class TokenPrices(BaseModel):
    """Prices of one endpoint in US dollars per million tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    input_usd_per_mtok: Decimal = Field(ge=0)
    """Input tokens that were not read from or written to the cache."""
    output_usd_per_mtok: Decimal = Field(ge=0)
    """Output tokens, reasoning included."""
    cache_read_usd_per_mtok: Decimal | None = Field(default=None, ge=0)
    """Input tokens read from the cache; when unset they cost as plain input."""
    cache_write_usd_per_mtok: Decimal | None = Field(default=None, ge=0)
    """Input tokens written to the cache; when unset they cost as plain input."""

    def cost_usd(self, usage: Usage) -> Decimal:
        """The cost of `usage` at these prices."""
        cache_read = self.cache_read_usd_per_mtok
        cache_write = self.cache_write_usd_per_mtok
        uncached = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
        micro_usd = (
            uncached * self.input_usd_per_mtok
            + usage.cache_read_tokens
            * (self.input_usd_per_mtok if cache_read is None else cache_read)
            + usage.cache_write_tokens
            * (self.input_usd_per_mtok if cache_write is None else cache_write)
            + usage.output_tokens * self.output_usd_per_mtok
        )
        return micro_usd / TOKENS_PER_MTOK


@dataclass(frozen=True)
class Price:
    """A cost and where it came from."""

    cost_usd: Decimal | None
    source: PriceSource


UNKNOWN = Price(None, "unknown")


@dataclass
class PriceBook:
    """Prices calls; remembers which unknown prices it has warned about already, and which
    models the genai-prices table does not list (a search of the whole table each call)."""

    _warned: set[tuple[str, str]] = field(default_factory=set, init=False)
    _unlisted: set[tuple[str | None, str | None, str]] = field(default_factory=set, init=False)

    def price(
        self,
        usage: Usage,
        *,
        provider: str,
        model: str,
        reported_cost_usd: Decimal | None = None,
        genai_provider_id: str | None = None,
        genai_api_url: str | None = None,
        config_prices: TokenPrices | None = None,
    ) -> Price:
        """The cost of one call of `model` at `provider` that consumed `usage`.

        `genai_provider_id` (e.g. `openai`) or `genai_api_url` (the endpoint's
        base URL) selects the provider in the genai-prices table; with neither,
        the table is not consulted.
        """
        if reported_cost_usd is not None:
            return Price(reported_cost_usd, "provider")
        in_table = genai_provider_id is not None or genai_api_url is not None
        table_key = (genai_provider_id, genai_api_url, model)
        if in_table and table_key not in self._unlisted:
            cost = genai_prices_cost(
                usage, model, provider_id=genai_provider_id, api_url=genai_api_url
            )
            if cost is not None:
                return Price(cost, "genai-prices")
            self._unlisted.add(table_key)
        if config_prices is not None:
            return Price(config_prices.cost_usd(usage), "config")
        if (provider, model) not in self._warned:
            self._warned.add((provider, model))
            logger.warning(
                "no price known for %s:%s; its cost is recorded as unknown. "
                "Add prices to the endpoint in taskline.toml to count it.",
                provider,
                model,
            )
        return UNKNOWN


def genai_prices_cost(
    usage: Usage, model: str, *, provider_id: str | None, api_url: str | None
) -> Decimal | None:
    """The cost from the bundled genai-prices table, or None when it does not list the model."""
    import genai_prices  # loading the table takes a while; the CLI should not wait for it

    table_usage = genai_prices.Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
    )
    try:
        # calc_price reads the snapshot bundled in the package unless an
        # UpdatePrices task was started; taskline never starts one.
        if provider_id is not None:
            result = genai_prices.calc_price(table_usage, model, provider_id=provider_id)
        else:
            result = genai_prices.calc_price(table_usage, model, provider_api_url=api_url)
    except LookupError:
        return None
    return result.total_price


DEFAULT_PRICE_BOOK = PriceBook()
"""The book adapters use unless given their own."""
