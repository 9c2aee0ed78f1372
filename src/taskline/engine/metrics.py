"""A task's overhead metrics, computed from what its runs recorded."""

from __future__ import annotations

from taskline.protocols import Store
from taskline.records import TaskMetrics


def compute_metrics(store: Store, task_id: str) -> TaskMetrics:
    """Turns, tokens, cost, time, tool calls, runs and retries over every run of the task,
    review calls included (see `Store.measure_task`, which counts them in one read)."""
    return store.measure_task(task_id)


def store_metrics(store: Store, task_id: str) -> TaskMetrics:
    """Compute the task's metrics and store them, replacing any earlier ones."""
    return store.save_metrics(compute_metrics(store, task_id))
