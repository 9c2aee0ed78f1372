"""Every model call goes through here, so every billed call leaves a cost record."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from taskline.errors import ResponseParseError
from taskline.llm.types import Message, ModelResponse, ToolDefinition, Usage
from taskline.protocols import Model, Store
from taskline.records import CallPurpose, CostRecord


@dataclass(frozen=True)
class CallSite:
    """Who is calling the model, for the cost record."""

    task_id: str
    """The task the call is made for."""
    run_id: str
    """The run it is made in."""
    agent: str
    """The agent making it."""
    purpose: CallPurpose = "agent"
    """`agent` for the executing agent, `review` for a reviewer."""
    resumed: bool = True
    """Whether the run may hold records of calls made before a crash; False saves a
    lookup per call in a run that has recorded none."""


async def billed_call(
    store: Store,
    model: Model,
    site: CallSite,
    turn: int,
    messages: Sequence[Message],
    tools: Sequence[ToolDefinition],
) -> ModelResponse:
    """Call the model and write the call's cost record before returning or raising.

    When the call was made and recorded before (a step replayed after a crash),
    the recorded answer is returned and the model is not paid a second time.
    """
    if site.resumed:
        # Off the event loop, as every store call of a run: a write may wait on a lock.
        recorded = await asyncio.to_thread(store.find_cost_record, site.run_id, site.purpose, turn)
        if recorded is not None and recorded.response is not None:
            return ModelResponse.model_validate(recorded.response)
    started = time.perf_counter()
    try:
        response = await model.complete(messages, tools)
    except ResponseParseError as exc:
        # The call was billed before its answer failed to parse: charge it here.
        await asyncio.to_thread(
            store.add_cost_record,
            _record(
                site, turn, model, exc.usage or Usage(), started, "error", exc.attempts
            ).model_copy(
                update={
                    "cost_usd": exc.cost_usd,
                    "price_source": exc.price_source,
                    "error": str(exc),
                    "attempt_errors": exc.attempt_errors,
                    "raw_usage": exc.raw_usage,
                }
            ),
        )
        raise
    record = _record(
        site, turn, model, response.usage, started, response.finish_reason, response.attempts
    )
    await asyncio.to_thread(
        store.add_cost_record,
        record.model_copy(
            update={
                "cost_usd": response.cost_usd,
                "price_source": response.price_source,
                "latency_ms": response.latency_ms,
                "attempt_errors": response.attempt_errors,
                "response": response.model_dump(mode="json"),
                "raw_usage": response.raw_usage,
            }
        ),
    )
    return response


def _record(
    site: CallSite,
    turn: int,
    model: Model,
    usage: Usage,
    started: float,
    finish_reason: str,
    attempts: int,
) -> CostRecord:
    return CostRecord(
        task_id=site.task_id,
        run_id=site.run_id,
        purpose=site.purpose,
        turn=turn,
        agent=site.agent,
        provider=model.provider,
        model=model.model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        cost_usd=None,
        price_source="unknown",
        latency_ms=(time.perf_counter() - started) * 1000,
        finish_reason=finish_reason,
        attempts=attempts,
    )
