"""Helpers the engine tests share: scripted answers, model factories and exact views of a task."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from taskline import Status, Taskline
from taskline.llm.scripted import ScriptedCall, ScriptedModel, ScriptedResponse
from taskline.llm.types import ToolResultMessage, Usage, UserMessage
from taskline.protocols import Model

USAGE = Usage(input_tokens=100, output_tokens=20)
COST_USD = "0.001"
USER = "user:tester"
CREATED_AND_ASSIGNED = [
    (None, Status.CREATED, USER, ""),
    (Status.CREATED, Status.ASSIGNED, USER, ""),
]
STARTED = (Status.ASSIGNED, Status.IN_PROGRESS, "system", "run started (first)")
SUBMITTED = (Status.IN_PROGRESS, Status.IN_REVIEW, "agent:coder", "work submitted")
AUTO_APPROVED = (
    Status.IN_REVIEW,
    Status.COMPLETED,
    "system",
    "approved automatically: the task has no checks, reviewer or human review",
)

Trail = list[tuple[Status | None, Status, str, str]]


def call(
    name: str, *, usage: Usage = USAGE, cost_usd: str | None = COST_USD, **arguments: Any
) -> ScriptedResponse:
    """An answer calling one tool, billed `usage` and `cost_usd`."""
    return calls((name, arguments), usage=usage, cost_usd=cost_usd)


def calls(
    *requested: tuple[str, dict[str, Any]], usage: Usage = USAGE, cost_usd: str | None = COST_USD
) -> ScriptedResponse:
    """An answer calling several tools at once."""
    return ScriptedResponse.model_validate(
        {
            "tool_calls": [{"name": name, "arguments": arguments} for name, arguments in requested],
            "usage": usage,
            "cost_usd": cost_usd,
        }
    )


def submit(summary: str) -> ScriptedResponse:
    """An answer handing in the work."""
    return call("submit_work", summary=summary)


def scripted(
    *scripts: list[ScriptedResponse],
) -> tuple[Callable[[str], Model], list[ScriptedModel]]:
    """A model factory handing out one scripted model per call, in order."""
    models = [ScriptedModel(script) for script in scripts]
    pending = list(models)

    def factory(_ref: str) -> Model:
        return pending.pop(0)

    return factory, models


def trail(tl: Taskline, task_id: str) -> Trail:
    """The task's transition log as (from, to, actor, reason)."""
    return [(t.from_status, t.to_status, t.actor, t.reason) for t in tl.transitions(task_id)]


def tool_results(model_call: ScriptedCall) -> list[ToolResultMessage]:
    """The tool results a model call was sent, in order."""
    return [m for m in model_call.messages if isinstance(m, ToolResultMessage)]


def last_tool_results(model_call: ScriptedCall) -> list[tuple[str, str, bool]]:
    """(tool, content, is_error) of the results that answer the previous turn's calls."""
    results: list[tuple[str, str, bool]] = []
    for message in reversed(model_call.messages):
        if not isinstance(message, ToolResultMessage):
            break
        results.insert(0, (message.name, message.content, message.is_error))
    return results


def metrics_of(
    tl: Taskline, task_id: str
) -> tuple[int, int, int, int, Decimal | None, int, int, int]:
    """(turns, tokens, input, output, cost, unpriced calls, tool calls, runs) as stored."""
    metrics = tl.metrics(task_id)
    assert metrics is not None, "no metrics were stored"
    return (
        metrics.turns_per_task,
        metrics.tokens_per_task,
        metrics.input_tokens,
        metrics.output_tokens,
        metrics.cost_per_task,
        metrics.unpriced_calls,
        metrics.tool_calls,
        metrics.runs,
    )


def runs_of(
    tl: Taskline, task_id: str
) -> list[tuple[int, str, str, str | None, str | None, str | None]]:
    """(number, trigger, status, summary, failure category, failure message) of each run."""
    return [
        (
            run.number,
            run.trigger,
            run.status,
            run.summary,
            run.failure_category,
            run.failure_message,
        )
        for run in tl.runs(task_id)
    ]


def costs_of(
    tl: Taskline, task_id: str
) -> list[tuple[int, str, int, str, int, int, Decimal | None]]:
    """(run number, purpose, turn, agent, input, output, cost) of each cost record.

    Sorted by run, purpose and turn rather than taken in id order: ids made in
    the same millisecond do not sort in creation order (see test_record_order).
    """
    numbers = {run.id: run.number for run in tl.runs(task_id)}
    rows = [
        (numbers[r.run_id], r.purpose, r.turn, r.agent, r.input_tokens, r.output_tokens, r.cost_usd)
        for r in tl.cost_records(task_id)
    ]
    return sorted(rows, key=lambda row: (row[0], row[1], row[2]))


def failure(tl: Taskline, task_id: str) -> tuple[Status, str | None, str | None]:
    """(status, failure category, failure message) of the stored task."""
    task = tl.get_task(task_id)
    return task.status, task.failure_category, task.failure_message


def names(items: Sequence[Any]) -> list[str]:
    """The `name` of each item."""
    return [item.name for item in items]


def task_prompt(model_call: ScriptedCall) -> str:
    """The task prompt a model call was sent: its first user message."""
    message = model_call.messages[1]
    assert isinstance(message, UserMessage), message
    return message.content
