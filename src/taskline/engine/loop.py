"""The agent loop: one run of one task, from the first prompt to `submit_work` or a stop.

    for each turn:
        call the model under its intent        -> complete its cost record at once
        run the tools it asked for, together   -> errors go back to the model as results
        check the limits (turns, budget)       -> stop before a call that would cross one
        store the turn with its tool calls and the next call's intent, in one write
        submit_work called?                    -> done: the summary is the completion summary
        the same calls again and again?        -> one corrective message, then stop
        nothing but malformed calls, turn after turn? -> stop (`malformed_output`)

The whole run sits under the task's wall-clock timeout, which also cancels a
model call or a tool in flight. Everything recorded before a stop is kept.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from taskline.engine.billing import CallSite, billed_call, call_intent, recorded_answer
from taskline.engine.cancel import cancel_watcher
from taskline.engine.events import UNOBSERVED, EventKind, OnEvent, ProgressEvent
from taskline.engine.prompt import first_messages
from taskline.engine.steps import InlineSteps
from taskline.errors import ProviderError, bounded
from taskline.lifecycle import Status
from taskline.llm.types import (
    Message,
    ModelResponse,
    ToolCall,
    ToolDefinition,
    ToolResultMessage,
    UserMessage,
)
from taskline.models import Agent, Task, utcnow
from taskline.protocols import Model, Observer, Steps, Store, Tool
from taskline.records import CostRecord, FailureCategory, Run, ToolCallRecord, Turn
from taskline.tools import ToolContext, ToolResult
from taskline.tools.base import ToolCallLimits
from taskline.tools.registry import run_tool_calls, tool_definitions

NUDGE = (
    "You answered without calling a tool. Use the tools to do the work, and call"
    " submit_work(summary) when every acceptance criterion is met."
)
CORRECTION = (
    "You have made the same tool call with the same arguments three times in a row and"
    " it changes nothing. Try something different, or call submit_work if you are done."
    " Repeating it once more ends the run."
)
CANCELLED = ToolResult(
    output="cancelled: the run reached its time limit", is_error=True, duration_ms=0
)
REPEATS_BEFORE_CORRECTION = 3
REPEATS_BEFORE_STOP = 4
DEFAULT_MAX_MALFORMED_TURNS = 3


@dataclass(frozen=True)
class Limits:
    """What one run may use."""

    max_turns: int
    """Most model calls in the run."""
    budget_usd: Decimal | None
    """Most the task's cost records may add up to, over all its runs; None for no limit."""
    budget_tokens: int | None
    """Most input plus output tokens the task's calls may add up to, over all its runs
    and review calls; None for no limit."""
    timeout_seconds: float
    """Wall-clock limit of the run, from its start."""
    max_malformed_turns: int = DEFAULT_MAX_MALFORMED_TURNS
    """Turns in a row whose every tool call was malformed (unknown tool, arguments
    unreadable or invalid) that end the run; each one is answered with the errors first."""
    tool_calls: ToolCallLimits = ToolCallLimits()
    """How many of one turn's tool calls run at once, and at all."""


@dataclass(frozen=True)
class Outcome:
    """How a run ended: handed in with a summary, or stopped with a reason."""

    summary: str | None = None
    """The completion summary, when the agent called `submit_work`."""
    failure_category: FailureCategory | None = None
    """Why the run stopped short, otherwise."""
    failure_message: str = ""
    """The stop in words, a few hundred characters at most (the detail stays in the turns)."""

    def __post_init__(self) -> None:
        # Messages quote what models and providers sent, which can be megabytes.
        object.__setattr__(self, "failure_message", bounded(self.failure_message))


class Stagnation:
    """Counts the same tool calls made turn after turn."""

    def __init__(self) -> None:
        self._last: str | None = None
        self.repeats = 0

    def observe(self, calls: Sequence[ToolCall]) -> int:
        """Record one turn's calls; return how many turns in a row made exactly these calls."""
        key = json.dumps(
            [[c.name, c.arguments, c.raw_arguments] for c in calls], sort_keys=True, default=str
        )
        self.repeats = self.repeats + 1 if calls and key == self._last else (1 if calls else 0)
        self._last = key if calls else None
        return self.repeats


class AgentLoop:
    """Runs one `Run` of a task with its agent's model and tools."""

    def __init__(
        self,
        *,
        store: Store,
        model: Model,
        tools: Sequence[Tool],
        context: ToolContext,
        task: Task,
        agent: Agent,
        run: Run,
        limits: Limits,
        on_event: OnEvent,
        steps: Steps | None = None,
        observer: Observer = UNOBSERVED,
    ) -> None:
        self.store = store
        self.model = model
        self.tools = tools
        self.context = context
        self.task = task
        self.agent = agent
        self.run = run
        self.limits = limits
        self.on_event = on_event
        self.steps: Steps = steps or InlineSteps()
        # Told of each call and turn made now; what a resumed run replays it was told of then.
        self.observer = observer
        self.site = CallSite(task_id=task.id, run_id=run.id, agent=agent.name)
        self.stagnation = Stagnation()
        self.replaying = False
        """Whether the turn at hand may have been recorded by an execution before a crash."""
        self.recorded: dict[int, dict[int, ToolResult]] = {}
        """Tool results recorded before a crash, by turn and position, until replayed."""
        self.stored_calls: set[int] = set()
        """Positions of the turn's tool calls whose rows are stored already."""
        self.malformed_turns = 0
        self.tokens = 0
        self.cost_usd: Decimal | None = Decimal(0)
        self.started = time.monotonic()

    async def execute(self) -> Outcome:
        """Run turns until the agent submits its work or a limit, error or timeout stops it.

        The timeout counts from the run's start as stored, so a run resumed after a
        crash gets only the time that is left, not a fresh allowance.
        """
        self.started = time.monotonic()
        # Read afresh by every execution: a run resumed after a crash replays the turns
        # its records hold (answers from cost records, results from tool-call rows).
        self.replaying = await asyncio.to_thread(self.store.has_cost_records, self.run.id)
        if self.replaying:
            self.recorded = await asyncio.to_thread(_recorded_results, self.store, self.run.id)
        self.site = replace(self.site, resumed=self.replaying)
        used_seconds = (utcnow() - self.run.started_at).total_seconds()
        self.started -= used_seconds
        remaining = self.limits.timeout_seconds - used_seconds
        turns = asyncio.ensure_future(self._turns())
        watched = cancel_watcher().watch(self.store, self.task.id, turns)
        try:
            async with asyncio.timeout(max(remaining, 0)):
                return await turns
        except TimeoutError:
            return Outcome(
                failure_category="timeout",
                failure_message=f"the run took longer than {self.limits.timeout_seconds:g} s",
            )
        except ProviderError as exc:
            return Outcome(failure_category="provider_error", failure_message=str(exc))
        except asyncio.CancelledError:
            if watched.moved_to is None:
                raise  # cancelled from outside: the process is stopping
            if watched.moved_to is Status.CANCELLED:
                return Outcome(failure_message="the task was cancelled while it ran")
            return Outcome(failure_message=f"the task was moved to {watched.moved_to} while it ran")
        finally:
            cancel_watcher().forget(watched)
            turns.cancel()

    async def _turns(self) -> Outcome:
        definitions = tool_definitions(self.tools)
        messages: list[Message] = first_messages(
            self.agent,
            self.task,
            definitions,
            budget_usd=self.limits.budget_usd,
            feedback=self.run.feedback,
        )
        # The next call's intent, once the store holds it (written with the turn before).
        intent: CostRecord | None = None
        for turn in itertools.count(1):
            started_at = utcnow()
            started = time.perf_counter()
            checked = await self._call_model(turn, messages, definitions, intent)
            if isinstance(checked, Outcome):
                return checked
            response = checked
            messages.append(response.as_message())
            if response.tool_calls:
                self._emit("tool_call", turn, ", ".join(c.name for c in response.tool_calls))
            try:
                results = await self._run_tools(turn, response.tool_calls)
            except asyncio.CancelledError:
                # The run's time ran out with tools in flight: the billed turn is kept.
                # On the loop, once: awaiting here could be cancelled again before it is kept.
                cancelled = [CANCELLED] * len(response.tool_calls)
                self._store_turn(turn, response, cancelled, started_at, None)
                raise
            messages += [
                ToolResultMessage(
                    tool_call_id=call.id, name=call.name, content=r.output, is_error=r.is_error
                )
                for call, r in zip(response.tool_calls, results, strict=True)
            ]
            outcome = self._after_turn(response, results, messages)
            if outcome is None and not self.replaying:
                # Checked before the next call's intent is written: a call the limits
                # stop is never declared. A replayed turn declares nothing: the next
                # call's record, or its absence, says what the first execution did, and
                # the spend now counts calls made after this turn.
                outcome = await self._limit_reached(turn + 1)
            declare = outcome is None and not self.replaying
            intent = call_intent(self.site, self.model, turn + 1) if declare else None
            written = await asyncio.to_thread(
                self._store_turn, turn, response, results, started_at, intent
            )
            intent = intent if written else None  # replayed: the stored records tell
            if written:
                self.observer.turn_ended(self.run, time.perf_counter() - started)
            self._emit("turn_finished", turn)
            if outcome is not None:
                return outcome
        raise AssertionError("unreachable: the turn counter is endless")

    def _after_turn(
        self, response: ModelResponse, results: Sequence[ToolResult], messages: list[Message]
    ) -> Outcome | None:
        """The run's end if this turn ends it: work submitted, or the agent stuck."""
        submitted = [r.submission for r in results if r.submission is not None]
        if submitted:
            return Outcome(summary=submitted[0])
        return self._malformed_stop(results) or self._steer(response, messages)

    def _malformed_stop(self, results: Sequence[ToolResult]) -> Outcome | None:
        """Count turns in a row whose every call was malformed; stop at the limit."""
        malformed = bool(results) and all(r.malformed for r in results)
        self.malformed_turns = self.malformed_turns + 1 if malformed else 0
        if self.malformed_turns < self.limits.max_malformed_turns:
            return None
        return Outcome(
            failure_category="malformed_output",
            failure_message=(
                f"{self.malformed_turns} turns in a row with only malformed tool calls;"
                f" the last error: {results[-1].output}"
            ),
        )

    async def _limit_reached(self, turn: int) -> Outcome | None:
        """Whether the limits stop the run before its call `turn`."""
        # A task moved out of IN_PROGRESS (cancelled, blocked) is the cancel watcher's.
        if turn > self.limits.max_turns:
            return Outcome(
                failure_category="max_turns",
                failure_message=(
                    f"used all {self.limits.max_turns} turns without submitting the work"
                ),
            )
        if self.limits.budget_tokens is None and self.limits.budget_usd is None:
            return None
        return await asyncio.to_thread(self._budget_spent)

    def _budget_spent(self) -> Outcome | None:
        if self.limits.budget_tokens is not None:
            used = self.store.task_tokens(self.task.id)
            if used >= self.limits.budget_tokens:
                return Outcome(
                    failure_category="budget_exhausted",
                    failure_message=(
                        f"used {used} of the {self.limits.budget_tokens}-token budget"
                        " before the work was submitted"
                    ),
                )
        if self.limits.budget_usd is not None:
            spent, unpriced = self.store.task_spend(self.task.id)
            if unpriced:
                # unknown is not free: a budget that cannot be counted is not held
                plural = "s" if unpriced > 1 else ""
                return Outcome(
                    failure_category="budget_exhausted",
                    failure_message=(
                        f"{unpriced} call{plural} had no known price, so the"
                        f" ${self.limits.budget_usd} budget cannot be held; give the"
                        " endpoint prices in taskline.toml or use a token budget"
                    ),
                )
            if spent >= self.limits.budget_usd:
                return Outcome(
                    failure_category="budget_exhausted",
                    failure_message=(
                        f"spent ${spent} of the ${self.limits.budget_usd} budget"
                        " before the work was submitted"
                    ),
                )
        return None

    def _steer(self, response: ModelResponse, messages: list[Message]) -> Outcome | None:
        """Keep the agent moving: nudge a tool-less answer, correct and then stop repetition."""
        if not response.tool_calls:
            messages.append(UserMessage(content=NUDGE))
        repeats = self.stagnation.observe(response.tool_calls)
        if repeats >= REPEATS_BEFORE_STOP:
            call = response.tool_calls[0]
            return Outcome(
                failure_category="stagnation",
                failure_message=(
                    f"made the same call ({call.name} {json.dumps(call.arguments)})"
                    f" {repeats} times in a row"
                ),
            )
        if repeats == REPEATS_BEFORE_CORRECTION:
            messages.append(UserMessage(content=CORRECTION))
        return None

    async def _run_tools(self, turn: int, calls: Sequence[ToolCall]) -> list[ToolResult]:
        """The turn's calls, several at once; those past the turn's limit not at all.

        A result recorded before a crash is replayed, not run again. In a turn of several
        calls, each is stored as it finishes: a crash then loses none that finished.
        """
        bounds = self.limits.tool_calls
        running = asyncio.Semaphore(bounds.max_parallel)
        allowed = calls[: bounds.max_per_turn]
        recorded = self.recorded.pop(turn, {})
        self.stored_calls = set(recorded)

        async def one(index: int, call: ToolCall) -> ToolResult:
            with self.observer.tool_call(call) as watch:
                [result] = await run_tool_calls([call], self.tools, self.context)
                watch.ended(result)
            if len(allowed) > 1:
                record = self._call_record(turn, index, call, result)
                await asyncio.to_thread(self.store.add_tool_call, record)
                self.stored_calls.add(index)
            return result

        async def bounded(index: int, call: ToolCall) -> ToolResult:
            if index in recorded:
                return recorded[index]
            async with running:
                return await self.steps.unrecorded(
                    f"tool {turn}.{index} {call.name}", one, index, call
                )

        if len(allowed) == 1:  # the common turn: no task to spawn and gather
            results = [await bounded(0, allowed[0])]
        else:
            results = list(await asyncio.gather(*(bounded(i, c) for i, c in enumerate(allowed))))
        refused = ToolResult(output=bounds.refusal(len(calls)), is_error=True, duration_ms=0)
        return results + [refused] * (len(calls) - len(allowed))

    async def _call_model(
        self,
        turn: int,
        messages: Sequence[Message],
        definitions: Sequence[ToolDefinition],
        intent: CostRecord | None,
    ) -> ModelResponse | Outcome:
        """The call's answer: replayed from its record, or asked of the model once the
        limits allow it (checked before its intent was written, or here)."""
        self._emit("model_call", turn)
        response = await self._replayed_answer(turn) if self.replaying else None
        if response is None:
            if intent is None:
                stop = await self._limit_reached(turn)
                if stop is not None:
                    return stop
            response = await self.steps.unrecorded(
                f"model {turn}", billed_call, self.store, self.model, self.site, turn,
                list(messages), list(definitions), intent, self.observer,
            )  # fmt: skip
            # Only the first call after a resume can find a record of its own.
            self.site = replace(self.site, resumed=False)
        self.tokens += response.usage.total_tokens
        if self.cost_usd is not None:
            self.cost_usd = None if response.cost_usd is None else self.cost_usd + response.cost_usd
        return response

    async def _replayed_answer(self, turn: int) -> ModelResponse | None:
        """The answer recorded for this turn before a crash; None ends the replay."""
        stored = await asyncio.to_thread(
            self.store.find_cost_record, self.run.id, self.site.purpose, turn
        )
        answer = recorded_answer(stored)
        self.replaying = answer is not None
        return answer

    def _call_record(
        self, turn: int, index: int, call: ToolCall, result: ToolResult
    ) -> ToolCallRecord:
        return ToolCallRecord(
            run_id=self.run.id,
            turn=turn,
            index=index,
            call_id=call.id,
            name=call.name,
            arguments=call.arguments,
            output=result.output,
            is_error=result.is_error,
            duration_ms=result.duration_ms,
            submission=result.submission,
            malformed=result.malformed,
        )

    def _store_turn(
        self,
        turn: int,
        response: ModelResponse,
        results: Sequence[ToolResult],
        started_at: datetime,
        intent: CostRecord | None,
    ) -> bool:
        """Store the turn with its calls not stored yet, and the next call's intent."""
        calls = [
            self._call_record(turn, index, call, result)
            for index, (call, result) in enumerate(zip(response.tool_calls, results, strict=True))
            if index not in self.stored_calls
        ]
        return self.store.add_turn(
            Turn(
                run_id=self.run.id,
                number=turn,
                text=response.text,
                finish_reason=response.finish_reason,
                started_at=started_at,
                ended_at=utcnow(),
            ),
            calls,
            intent,
        )

    def _emit(self, kind: EventKind, turn: int, detail: str = "") -> None:
        self.on_event(
            ProgressEvent(
                kind=kind,
                task_id=self.task.id,
                run_number=self.run.number,
                turn=turn,
                tokens=self.tokens,
                cost_usd=self.cost_usd,
                elapsed_seconds=time.monotonic() - self.started,
                detail=detail,
            )
        )


def _recorded_results(store: Store, run_id: str) -> dict[int, dict[int, ToolResult]]:
    """The tool results a run recorded before a crash, by turn and position."""
    recorded: dict[int, dict[int, ToolResult]] = {}
    for call in store.tool_calls(run_id):
        recorded.setdefault(call.turn, {})[call.index] = ToolResult(
            output=call.output,
            is_error=call.is_error,
            duration_ms=call.duration_ms,
            submission=call.submission,
            malformed=call.malformed,
        )
    return recorded
