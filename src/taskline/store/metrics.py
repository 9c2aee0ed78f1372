"""The metrics report and the rows it is drawn from, computed by the database.

`taskline.reports.metrics_report` defines the report over every task's row; this
computes the same, to the last digit, without reading those rows into Python:

- how many tasks and values, and their sums: one pass over an index of the
  narrow `task_metrics` table in the order of the agent and model of each task's
  last run (kept in that table for this, so no join);
- the values at the ranks of the percentiles, the max and the median: a walk down
  the index on (group, measure) from whichever end is nearer, all in one query;
- the outliers: a range scan of a measure's index above three times its median.

The database adds floats up in its own order, so a sum can be a few units in the
last place off the exact one that `statistics.fmean` works from; a mean that could
round either way within that error is computed again from the values (rarely).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, cast, func, literal, null, select, text, union_all
from sqlalchemy.engine import Connection

from taskline.reports import (
    MEASURES,
    MIN_TASKS_FOR_OUTLIERS,
    OUTLIER_FACTOR,
    PERCENTILES,
    TaskRow,
    flag,
    mean,
    mean_from_sum,
    median,
    median_ranks,
    percentile_rank,
    summary,
)
from taskline.store.base import SqlBase
from taskline.store.tables import task_metrics

_m = task_metrics.c
# What orders and adds up each measure: money as a float, which only SQLite needs.
_ORDERED: dict[str, ColumnElement[Any]] = {
    "turns_per_task": _m.turns_per_task,
    "tokens_per_task": _m.tokens_per_task,
    "cost_per_task": _m.cost_per_task_float,
    "duration_seconds": _m.duration_seconds,
}
# What a value is read from: the exact money, as the report's rows are made from it.
_READ: dict[str, ColumnElement[Any]] = {**_ORDERED, "cost_per_task": _m.cost_per_task}
_INTEGERS = frozenset({"turns_per_task", "tokens_per_task"})
_GROUPINGS = {"agent": _m.last_agent, "model": _m.last_model}

# A group of tasks: ("all", ""), ("agent", name) or ("model", name).
Group = tuple[str, str]
_ALL: Group = ("all", "")

_SUMS = select(
    _m.last_agent,
    _m.last_model,
    func.count(),
    *(
        aggregate
        for measure, column in _ORDERED.items()
        for aggregate in (
            (func.count(column), func.sum(column))
            if measure in _INTEGERS  # exact: no error to bound
            else (func.count(column), func.sum(column), func.sum(func.abs(column)))
        )
    ),
).group_by(_m.last_agent, _m.last_model)


def _value(measure: str, raw: Any) -> float | None:
    """A value as the report's rows hold it: an int, or a float (money included)."""
    if raw is None:
        return None
    return int(raw) if measure in _INTEGERS else float(raw)


@dataclass
class _Tally:
    """One measure over one group, from the pass that adds up."""

    known: int = 0
    total: Any = 0
    """Sum of the known values: exact for integers, a float otherwise."""
    magnitude: float = 0.0
    """Sum of their absolute values, which bounds the float sum's error."""
    parts: int = 0
    """How many partial sums were added into `total` here."""

    def add(self, known: int, total: Any, magnitude: Any = 0) -> None:
        if known:
            self.known += known
            self.total += total
            self.magnitude += float(magnitude)
            self.parts += 1

    def error(self, measure: str) -> float:
        """A bound on how far `total` is from the exact sum of the values as floats."""
        if measure in _INTEGERS:
            return 0.0
        # Each addition, in the database or here, is off by at most half a unit in the
        # last place of a partial sum, itself at most `magnitude`; SQLite's text-to-float
        # may miss a value by a unit. Four times that many half units, to be safe.
        half_unit = 2.0**-53
        return 4 * (self.known + self.parts + 2) * half_unit * self.magnitude


@dataclass
class _Group:
    tasks: int = 0
    tallies: dict[str, _Tally] = field(default_factory=lambda: {m: _Tally() for m in MEASURES})


# The value at (group, measure, 1-based rank among the group's known values, ascending).
Ranked = dict[tuple[Group, str, int], float]


class MetricsQueries(SqlBase):
    """The report across tasks and the rows of finished tasks, on the `task_metrics` table."""

    def metrics_report(self) -> dict[str, Any]:
        """What `taskline.reports.metrics_report` makes of every task's row, from one
        consistent read."""
        with self._snapshot() as conn:
            groups = _tally(conn)
            ranked = _ranked_values(conn, groups)
            return {
                "tasks": groups[_ALL].tasks,
                "overall": {m: _distribution(conn, groups, ranked, _ALL, m) for m in MEASURES},
                "by_agent": _by(conn, groups, ranked, "agent"),
                "by_model": _by(conn, groups, ranked, "model"),
                "outliers": _outliers(conn, groups, ranked),
            }

    def page_metrics(
        self,
        *,
        limit: int | None,
        offset: int = 0,
        after: str | None = None,
        newest_first: bool = False,
    ) -> tuple[list[tuple[TaskRow, datetime]], int]:
        """At most `limit` (None: every) task with metrics, by task id (or newest first),
        each with when its metrics were stored; and how many tasks have metrics.

        `after` is a task id to start past, in that order; `offset` skips that many more.
        """
        order = _m.task_id.desc() if newest_first else _m.task_id
        page = select(_m.task_id, _m.last_agent, _m.last_model, _m.updated_at, *_READ.values())
        if after is not None:
            page = page.where(_m.task_id < after if newest_first else _m.task_id > after)
        page = page.order_by(order).offset(offset).limit(limit)
        with self._snapshot() as conn:
            rows = conn.execute(page).all()
            total = conn.execute(select(func.count()).select_from(task_metrics)).scalar_one()
        return [(_task_row(row), row.updated_at) for row in rows], total


def _task_row(row: Any) -> TaskRow:
    task_id, agent, model, _updated_at, *values = row
    return TaskRow(
        task_id=task_id,
        agent=agent,
        model=model,
        values={m: _value(m, raw) for m, raw in zip(_READ, values, strict=True)},
    )


def _tally(conn: Connection) -> dict[Group, _Group]:
    """Tasks, known values and sums per group, from one pass by (agent, model)."""
    groups: dict[Group, _Group] = defaultdict(_Group)
    groups[_ALL] = _Group()  # there, with no tasks, when no task has metrics
    for agent, model, tasks, *sums in conn.execute(_SUMS):
        for group in (_ALL, ("agent", agent), ("model", model)):
            groups[group].tasks += tasks
            at = 0
            for measure in MEASURES:
                width = 2 if measure in _INTEGERS else 3
                groups[group].tallies[measure].add(*sums[at : at + width])
                at += width
    return dict(groups)


def _wanted_ranks(group: Group, known: int) -> list[int]:
    ranks = {percentile_rank(known, fraction) for fraction in PERCENTILES.values()} | {known}
    if group == _ALL and known >= MIN_TASKS_FOR_OUTLIERS:
        ranks |= set(median_ranks(known))
    return sorted(ranks)


def _ranked_values(conn: Connection, groups: dict[Group, _Group]) -> Ranked:
    """The values at the ranks each group's distribution and the median need, in one query
    of one row: a column per value, each a walk down the (group, measure) index.

    Written as SQL text: built with SQLAlchemy's expressions, the hundred or so walks of a
    report took ten times longer to put together in Python than to run.
    """
    walks: list[str] = []
    params: dict[str, Any] = {}
    wanted: list[tuple[Group, str, int]] = []
    for group, members in groups.items():
        for measure, tally in members.tallies.items():
            for rank in _wanted_ranks(group, tally.known) if tally.known else ():
                i = len(walks)
                from_top = tally.known - rank < rank - 1
                walks.append(_walk(i, group, measure, descending=from_top))
                params[f"skip{i}"] = tally.known - rank if from_top else rank - 1
                if group != _ALL:
                    params[f"group{i}"] = group[1]
                wanted.append((group, measure, rank))
    if not walks:
        return {}
    row = conn.execute(text("SELECT " + ", ".join(walks)), params).one()
    ranked: Ranked = {}
    for (group, measure, rank), raw in zip(wanted, row, strict=True):
        value = _value(measure, raw)
        if value is None:  # the tally saw it: nothing can have gone within one read
            raise RuntimeError(f"no {measure} at rank {rank} of {group}")
        ranked[group, measure, rank] = value
    return ranked


def _walk(i: int, group: Group, measure: str, *, descending: bool) -> str:
    """A scalar subquery: the measure's value `:skip{i}` places from the group's lowest
    (or highest) known one."""
    ordered, read = _ORDERED[measure].name, _READ[measure].name
    where = f"{_GROUPINGS[group[0]].name} = :group{i} AND " if group != _ALL else ""
    direction = " DESC" if descending else ""
    return (
        f"(SELECT {read} FROM {task_metrics.name} WHERE {where}{ordered} IS NOT NULL"
        f" ORDER BY {ordered}{direction} LIMIT 1 OFFSET :skip{i})"
    )


def _by(
    conn: Connection, groups: dict[Group, _Group], ranked: Ranked, grouping: str
) -> dict[str, dict[str, Any]]:
    names = sorted(name for kind, name in groups if kind == grouping)
    return {
        name: {
            "tasks": groups[grouping, name].tasks,
            **{m: _distribution(conn, groups, ranked, (grouping, name), m) for m in MEASURES},
        }
        for name in names
    }


def _distribution(
    conn: Connection, groups: dict[Group, _Group], ranked: Ranked, group: Group, measure: str
) -> dict[str, Any]:
    members = groups[group]
    tally = members.tallies[measure]
    unknown = members.tasks - tally.known
    if not tally.known:
        return summary(0, unknown, None, {**dict.fromkeys(PERCENTILES), "max": None})
    average = mean_from_sum(tally.total, tally.error(measure), tally.known)
    if average is None:
        average = mean(_known_values(conn, group, measure))
    at = {
        name: ranked[group, measure, percentile_rank(tally.known, fraction)]
        for name, fraction in PERCENTILES.items()
    }
    return summary(
        tally.known, unknown, average, {**at, "max": ranked[group, measure, tally.known]}
    )


def _known_values(conn: Connection, group: Group, measure: str) -> list[float]:
    """Every known value of the measure in the group: for the rare mean that a float sum
    cannot settle."""
    column = _READ[measure]
    query = select(column).where(column.is_not(None))
    if group != _ALL:
        query = query.where(_GROUPINGS[group[0]] == group[1])
    return [v for raw in conn.execute(query).scalars() if (v := _value(measure, raw)) is not None]


def _outliers(
    conn: Connection, groups: dict[Group, _Group], ranked: Ranked
) -> list[dict[str, Any]]:
    """Tasks more than `OUTLIER_FACTOR` times the median of all tasks, measure by measure
    and by task id, as `taskline.reports.outliers` lists them."""
    medians: dict[str, float] = {}
    arms: list[Select[Any]] = []
    for measure, tally in groups[_ALL].tallies.items():
        if tally.known < MIN_TASKS_FOR_OUTLIERS:
            continue
        lower, upper = (ranked[_ALL, measure, rank] for rank in median_ranks(tally.known))
        medians[measure] = middle = median(lower, upper, tally.known)
        if middle > 0:
            arms.append(_above(measure, OUTLIER_FACTOR * middle))
    if not arms:
        return []
    flagged = []
    for index, task_id, *values in conn.execute(union_all(*arms).order_by("measure", "task_id")):
        measure = MEASURES[index]
        value = _value(measure, values[index])
        # The database only narrows: the comparison that decides is the report's own.
        if value is not None and (entry := flag(task_id, measure, value, medians[measure])):
            flagged.append(entry)
    return flagged


def _above(measure: str, threshold: float) -> Select[Any]:
    """Tasks whose value may exceed `threshold`: a little below it, so that no rounding in
    the database can leave out one that does. A column per measure, this one's filled:
    PostgreSQL would make integers, money and floats all floats in one column."""
    bound: float = (
        math.floor(threshold) if measure in _INTEGERS else threshold - abs(threshold) * 1e-9
    )
    values = [
        (_READ[m] if m == measure else cast(null(), _READ[m].type)).label(m) for m in MEASURES
    ]
    return select(literal(MEASURES.index(measure)).label("measure"), _m.task_id, *values).where(
        _ORDERED[measure] > bound
    )
