"""Metrics across tasks: distributions by agent and by model, and tasks far above the rest.

`metrics_report` computes the report from every task's row, straightforwardly: it
is the definition. The store computes the same report in SQL without reading every
row (`taskline.store.metrics`), through the pieces below, so that both agree to
the last digit.
"""

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

MEAN_DIGITS = 6
"""Decimal places a mean is rounded to."""

PERCENTILES = {"p50": 0.5, "p90": 0.9}
"""The nearest-rank percentiles of a distribution."""

MIN_TASKS_FOR_OUTLIERS = 3
"""A median of one or two tasks says nothing about what is normal."""

NO_RUN = "-"
"""The agent and the model shown for a task that finished without a run."""


@dataclass(frozen=True)
class TaskRow:
    """One task's metrics with who ran it."""

    task_id: str
    agent: str
    model: str
    values: dict[str, float | None]
    """The `MEASURES`; a cost is None when a call was unpriced."""


def percentile_rank(count: int, fraction: float) -> int:
    """The 1-based rank of the nearest-rank percentile `fraction` among `count` values."""
    return max(1, math.ceil(fraction * count))


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    return sorted_values[percentile_rank(len(sorted_values), fraction) - 1]


def median_ranks(count: int) -> tuple[int, int]:
    """The 1-based ranks of the value(s) a median of `count` values is taken from."""
    return ((count + 1) // 2, (count + 1) // 2) if count % 2 else (count // 2, count // 2 + 1)


def median(lower: float, upper: float, count: int) -> float:
    """`statistics.median` of `count` values, given those at `median_ranks(count)`."""
    return lower if count % 2 else (lower + upper) / 2


def summary(
    count: int, unknown: int, mean: float | None, ranked: dict[str, float | None]
) -> dict[str, Any]:
    """A distribution as the report shows it; `ranked` holds the percentiles and the max."""
    return {"count": count, "unknown": unknown, "mean": mean, **ranked}


def mean(known: Iterable[float]) -> float:
    """The mean of known values, as the report shows it."""
    return round(statistics.fmean(known), MEAN_DIGITS)


def distribution(values: Iterable[float | None]) -> dict[str, Any]:
    """count, mean, p50, p90 and max of the known values; `unknown` counts the rest."""
    listed = list(values)
    known = sorted(v for v in listed if v is not None)
    unknown = len(listed) - len(known)
    if not known:
        return summary(0, unknown, None, {**dict.fromkeys(PERCENTILES), "max": None})
    ranked = {name: percentile(known, fraction) for name, fraction in PERCENTILES.items()}
    return summary(len(known), unknown, mean(known), {**ranked, "max": known[-1]})


def mean_from_sum(total: float, error: float, count: int) -> float | None:
    """`mean(values)` of `count` values from their sum.

    `total` is within `error` of the exact sum of the values (0 when it is exact, as a
    sum of integers is). The mean is returned only when every number in that range
    rounds to the same: None means "add the values up exactly instead".
    """
    if error == 0:
        # fmean is fsum / count, and fsum of integers is the float nearest their sum
        return round(float(total) / count, MEAN_DIGITS)
    mean = float(total) / count
    # The sum's error shared out, plus the roundings of the sum and of the division on
    # either side (a few units in the last place), generously.
    slack = error / count + 8 * math.ulp(mean)
    low, high = round(mean - slack, MEAN_DIGITS), round(mean + slack, MEAN_DIGITS)
    if low != high or math.copysign(1, low) != math.copysign(1, high):
        return None  # -0.0 and 0.0 are equal but print apart
    return low


def flag(task_id: str, measure: str, value: float, median_value: float) -> dict[str, Any] | None:
    """The outlier entry for a task's `value`, or None when it is not far above the median."""
    if median_value > 0 and value > OUTLIER_FACTOR * median_value:
        return {"task_id": task_id, "measure": measure, "value": value, "median": median_value,
                "times_median": round(value / median_value, 1)}  # fmt: skip
    return None


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
        if len(known) < MIN_TASKS_FOR_OUTLIERS:
            continue
        middle = statistics.median(known)
        for row in rows:
            value = row.values[measure]
            if value is not None and (entry := flag(row.task_id, measure, value, middle)):
                flagged.append(entry)
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
