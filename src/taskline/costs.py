"""Totals over cost records: what a task (or everything) cost, honestly.

A total is None when any call in it is unpriced: a sum that silently skipped
unknown prices would read as cheaper than it was. The priced part is kept
alongside, as a lower bound. A call lost in a crash (sent, its answer never
recorded) counts at the estimate the call sent again in its place lent it, or as
unpriced when none was (a call a timeout cut off); lost calls are also counted
apart. A call still in flight counts nothing yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

from pydantic import Field

from taskline.models import Record
from taskline.records import Usd


class CostTotals(Record):
    """Sums over a set of cost records."""

    calls: int = Field(ge=0)
    """LLM calls that were billed or may have been (lost ones included)."""
    input_tokens: int = Field(ge=0)
    """All input tokens."""
    output_tokens: int = Field(ge=0)
    """All output tokens."""
    cache_read_tokens: int = Field(ge=0)
    """Input tokens read from prompt caches."""
    cache_write_tokens: int = Field(ge=0)
    """Input tokens written to prompt caches."""
    reasoning_tokens: int = Field(ge=0)
    """Output tokens spent on reasoning."""
    cost_usd: Usd | None
    """Total cost; None when any call is unpriced."""
    priced_cost_usd: Usd
    """Sum of the calls whose price is known: a lower bound when some are not."""
    unpriced_calls: int = Field(ge=0)
    """Calls whose price is unknown: answered without a price, or lost with no estimate."""
    lost_calls: int = Field(default=0, ge=0)
    """Calls whose answer a crash lost: each may have been billed and was sent again."""

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


class Billed(Protocol):
    """The figures of a cost record that a total adds up: a `CostRecord`, or a row of them."""

    @property
    def state(self) -> str: ...
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def cache_read_tokens(self) -> int: ...
    @property
    def cache_write_tokens(self) -> int: ...
    @property
    def reasoning_tokens(self) -> int: ...
    @property
    def cost_usd(self) -> Decimal | None: ...


def total(records: Iterable[Billed]) -> CostTotals:
    """Add up `records`."""
    calls = input_tokens = output_tokens = cache_read = cache_write = reasoning = unpriced = 0
    lost = 0
    priced = Decimal(0)
    for record in records:
        if record.state == "pending":
            continue
        calls += 1
        lost += record.state == "lost"
        input_tokens += record.input_tokens
        output_tokens += record.output_tokens
        cache_read += record.cache_read_tokens
        cache_write += record.cache_write_tokens
        reasoning += record.reasoning_tokens
        if record.cost_usd is None:
            unpriced += 1
        else:
            priced += record.cost_usd
    return CostTotals(
        calls=calls,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
        cost_usd=None if unpriced else priced,
        priced_cost_usd=priced,
        unpriced_calls=unpriced,
        lost_calls=lost,
    )
