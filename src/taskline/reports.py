"""Metrics across tasks: distributions by agent and by model, and tasks far above the rest."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

OUTLIER_FACTOR = 3.0
"""A task is flagged when a metric is more than this many times the median."""

MEASURES = ("turns_per_task", "tokens_per_task", "cost_per_task", "duration_seconds")


@dataclass(frozen=True)
class TaskRow:
    """One task's metrics with who ran it."""

    task_id: str
    agent: str
    model: str
    values: dict[str, float | None]
    """The `MEASURES`; a cost is None when a call was unpriced."""


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def distribution(values: Iterable[float | None]) -> dict[str, Any]:
    """count, mean, p50, p90 and max of the known values; `unknown` counts the rest."""
    listed = list(values)
    known = sorted(v for v in listed if v is not None)
    unknown = len(listed) - len(known)
    if not known:
        return {"count": 0, "unknown": unknown, "mean": None, "p50": None, "p90": None, "max": None}
    return {
        "count": len(known),
        "unknown": unknown,
        "mean": round(statistics.fmean(known), 6),
        "p50": percentile(known, 0.5),
        "p90": percentile(known, 0.9),
        "max": known[-1],
    }


def _group(rows: Sequence[TaskRow], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[TaskRow]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, key)].append(row)
    return {
        name: {
            "tasks": len(members),
            **{m: distribution([r.values[m] for r in members]) for m in MEASURES},
        }
        for name, members in sorted(groups.items())
    }


def outliers(rows: Sequence[TaskRow]) -> list[dict[str, Any]]:
    """Tasks with a metric more than `OUTLIER_FACTOR` times the median of all tasks."""
    flagged = []
    for measure in MEASURES:
        known = sorted(v for r in rows if (v := r.values[measure]) is not None)
        if len(known) < 3:
            continue  # a median of one or two tasks says nothing about what is normal
        median = statistics.median(known)
        for row in rows:
            value = row.values[measure]
            if value is not None and median > 0 and value > OUTLIER_FACTOR * median:
                flagged.append(
                    {"task_id": row.task_id, "measure": measure, "value": value,
                     "median": median, "times_median": round(value / median, 1)}
                )  # fmt: skip
    return flagged


def metrics_report(rows: Sequence[TaskRow]) -> dict[str, Any]:
    """The whole report: totals, by agent, by model, and outliers."""
    return {
        "tasks": len(rows),
        "overall": {m: distribution([r.values[m] for r in rows]) for m in MEASURES},
        "by_agent": _group(rows, "agent"),
        "by_model": _group(rows, "model"),
        "outliers": outliers(rows),
    }
