"""Every model call goes through here, so every call that may be billed leaves a record.

    intent   a `pending` cost record, written before the call is sent (by the caller,
             with its previous write, or here)
    answer   the record completed with the answer's tokens, cost and response
    refused  the intent dropped: a provider that refused the call did not bill it
    crash    the intent stays pending; the resumed run finds it, marks it `lost` (it
             may have been billed) and sends the call again under a new intent

A resumed run replays an answered call from its record instead of paying for it again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from taskline.engine.events import UNOBSERVED
from taskline.errors import ProviderError, ResponseParseError
from taskline.llm.types import Message, ModelResponse, ToolDefinition
from taskline.protocols import Model, Observer, Store
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


def call_intent(site: CallSite, model: Model, turn: int) -> CostRecord:
    """The record of a call about to be sent: `pending`, with no figures yet."""
    return CostRecord(
        task_id=site.task_id,
        run_id=site.run_id,
        purpose=site.purpose,
        turn=turn,
        agent=site.agent,
        provider=model.provider,
        model=model.model,
        input_tokens=0,
        output_tokens=0,
        cost_usd=None,
        price_source="unknown",
        latency_ms=0,
        finish_reason="pending",
        state="pending",
    )


async def billed_call(
    store: Store,
    model: Model,
    site: CallSite,
    turn: int,
    messages: Sequence[Message],
    tools: Sequence[ToolDefinition],
    intent: CostRecord | None = None,
    observer: Observer = UNOBSERVED,
) -> ModelResponse:
    """Call the model under `intent` (written by the caller) or an intent written here,
    and complete its record before returning or raising.

    When the call was answered and recorded before (a run resumed after a crash), the
    recorded answer is returned and the model is not paid a second time, nor reported
    to `observer` again.
    """
    replaced_lost = False  # an intent of the caller's is a first try
    if intent is None:
        # Off the event loop, as every store call of a run: a write may wait on a lock.
        declared = await asyncio.to_thread(_declare, store, model, site, turn)
        if isinstance(declared, ModelResponse):
            return declared
        intent, replaced_lost = declared
    started = time.perf_counter()
    watched = observer.model_call(
        model, agent=site.agent, purpose=site.purpose, turn=turn, messages=messages
    )
    try:
        with watched as watch:
            response = await model.complete(messages, tools)
            watch.ended(response)
    except ResponseParseError as exc:
        # The call was billed before its answer failed to parse: charge it here.
        usage = exc.usage
        await asyncio.to_thread(
            store.record_answer,
            intent.model_copy(
                update={
                    **(usage.model_dump() if usage is not None else {}),
                    "cost_usd": exc.cost_usd,
                    "price_source": exc.price_source,
                    "latency_ms": _since(started),
                    "finish_reason": "error",
                    "attempts": exc.attempts,
                    "error": str(exc),
                    "attempt_errors": exc.attempt_errors,
                    "raw_usage": exc.raw_usage,
                }
            ),
            replaced_lost=replaced_lost,
        )
        raise
    except ProviderError:
        await asyncio.to_thread(store.drop_intent, intent.id)
        raise
    await asyncio.to_thread(
        store.record_answer,
        intent.model_copy(
            update={
                **response.usage.model_dump(),
                "cost_usd": response.cost_usd,
                "price_source": response.price_source,
                "latency_ms": response.latency_ms,
                "finish_reason": response.finish_reason,
                "attempts": response.attempts,
                "attempt_errors": response.attempt_errors,
                "response": response.model_dump(mode="json"),
                "raw_usage": response.raw_usage,
            }
        ),
        replaced_lost=replaced_lost,
    )
    return response


def recorded_answer(stored: CostRecord | None) -> ModelResponse | None:
    """The answer a stored record holds, for a replay; None when the call has no answer
    yet. An answer that could not be read fails the replay as it failed the run then."""
    if stored is None or stored.state != "answered":
        return None
    if stored.response is None:
        raise ProviderError(
            provider=stored.provider,
            model=stored.model,
            detail=(stored.error or "").partition(": ")[2] or "its answer could not be read",
            attempts=stored.attempts,
        )
    return ModelResponse.model_validate(stored.response)


def _declare(
    store: Store, model: Model, site: CallSite, turn: int
) -> ModelResponse | tuple[CostRecord, bool]:
    """The answer recorded for this call before a crash, else the intent of sending it now
    and whether it replaces a lost one (the crash came while that one was in flight)."""
    intent = call_intent(site, model, turn)
    stored = store.find_cost_record(site.run_id, site.purpose, turn) if site.resumed else None
    if stored is None:
        return store.add_cost_record(intent), False
    if stored.state == "pending":
        return store.reissue(stored, intent), True
    answer = recorded_answer(stored)
    assert answer is not None  # answered: an answer, or the error raised
    return answer


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
