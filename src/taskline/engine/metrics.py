"""A task's overhead metrics, computed from what its runs recorded."""

from __future__ import annotations

from taskline.costs import total
from taskline.protocols import Store
from taskline.records import TaskMetrics


def compute_metrics(store: Store, task_id: str) -> TaskMetrics:
    """Turns, tokens, cost, time, tool calls, runs and retries over every run of the task.

    Time is the task's whole life (`duration_seconds`), of which the agent worked
    `agent_seconds` and the checks and reviewer agents took `review_seconds`.

    Tokens and cost include review calls; `cost_per_task` is None when any call was
    unpriced, with the count of those calls alongside. Calls lost in a crash count at
    their estimates (unpriced when they have none), and `lost_calls` says how many.
    """
    runs = store.list_runs(task_id)
    turns = tool_calls = 0
    agent_seconds = 0.0
    for run in runs:
        turns += len(store.turns(run.id))
        tool_calls += len(store.tool_calls(run.id))
        if run.ended_at is not None:
            agent_seconds += (run.ended_at - run.started_at).total_seconds()
    review_seconds = sum(r.duration_seconds or 0.0 for r in store.reviews(task_id))
    # The whole life: from the first run's start to the task's last move (its end, when the
    # metrics are computed at the end), review and any wait for a person included.
    duration_seconds = 0.0
    if runs:
        ended = store.transitions(task_id)[-1].at
        duration_seconds = max((ended - runs[0].started_at).total_seconds(), 0.0)
    records = store.cost_records(task_id)
    sums = total(records)
    return TaskMetrics(
        task_id=task_id,
        turns_per_task=turns,
        tokens_per_task=sums.tokens,
        input_tokens=sums.input_tokens,
        output_tokens=sums.output_tokens,
        cost_per_task=sums.cost_usd,
        unpriced_calls=sums.unpriced_calls,
        lost_calls=sums.lost_calls,
        duration_seconds=round(duration_seconds, 3),
        agent_seconds=round(agent_seconds, 3),
        review_seconds=round(review_seconds, 3),
        tool_calls=tool_calls,
        runs=len(runs),
        retries=sum(record.attempts - 1 for record in records),
    )


def store_metrics(store: Store, task_id: str) -> TaskMetrics:
    """Compute the task's metrics and store them, replacing any earlier ones."""
    return store.save_metrics(compute_metrics(store, task_id))
