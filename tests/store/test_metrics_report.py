"""The metrics report computed by the database equals, to the last digit, the report computed
straightforwardly from every task's metrics and runs: on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
from decimal import Decimal
from typing import Any

from taskline import Taskline
from taskline.protocols import Store
from taskline.records import Run, TaskMetrics
from taskline.reports import MEASURES, TaskRow, mean_from_sum, metrics_report

AGENTS = ("alpha", "beta", "gamma", "delta")
# "-" is also what a task without a run shows: a model really called that shares its group.
MODELS = ("openai:gpt-4o-mini", "anthropic:claude-haiku", "-")


def reference_rows(store: Store) -> list[TaskRow]:
    """Every task's row as the report defines it, read one task at a time, without the
    columns the database's report relies on."""
    rows = []
    for metrics in store.list_metrics():
        runs = store.list_runs(metrics.task_id)
        agent, model = (runs[-1].agent, runs[-1].model) if runs else ("-", "-")
        cost = metrics.cost_per_task
        values: dict[str, float | None] = {
            "turns_per_task": metrics.turns_per_task,
            "tokens_per_task": metrics.tokens_per_task,
            "cost_per_task": None if cost is None else float(cost),
            "duration_seconds": metrics.duration_seconds,
        }
        rows.append(TaskRow(metrics.task_id, agent, model, values))
    return rows


def assert_same_report(store: Store) -> dict[str, Any]:
    """The database's report is the reference's, numbers of the same type included."""
    expected = metrics_report(reference_rows(store))
    got = store.metrics_report()
    assert got == expected
    assert json.dumps(got) == json.dumps(expected)  # 2 and 2.0, 0.0 and -0.0 print apart
    return expected


def metrics(task_id: str, rng: random.Random, *, outlier: bool) -> TaskMetrics:
    turns = rng.randint(0, 12) * (10 if outlier else 1)
    cost = rng.choice(
        [None, Decimal(0), Decimal(rng.randrange(10**14)).scaleb(-12), Decimal("0.000400")]
        + [Decimal(rng.randrange(10**9)).scaleb(-12)] * 6
    )
    duration = rng.choice([round(rng.uniform(0, 90), 3), rng.uniform(0, 90), 1e-7, 0.0])
    return TaskMetrics(
        task_id=task_id,
        turns_per_task=turns,
        tokens_per_task=turns * rng.randint(50, 5000),
        input_tokens=turns * 40,
        output_tokens=turns * 10,
        cost_per_task=None if cost is None else cost * (100 if outlier else 1),
        unpriced_calls=1 if cost is None else 0,
        duration_seconds=duration * (50 if outlier else 1),
        tool_calls=turns,
        runs=1,
    )


def fill(tl: Taskline, rng: random.Random, count: int) -> None:
    """`count` finished tasks with zero, one or two runs, a few far above the rest; some
    retried after their metrics were stored; and a few tasks that never finished."""
    store = tl.store
    for n in range(count):
        task_id = tl.create_task(f"Task {n}").id
        runs = rng.choice([0, 1, 1, 1, 2])
        for number in range(1, runs + 1):
            store.start_run(
                Run(task_id=task_id, number=number, trigger="first" if number == 1 else "rework",
                    agent=rng.choice(AGENTS), model=rng.choice(MODELS))
            )  # fmt: skip
        store.save_metrics(metrics(task_id, rng, outlier=rng.random() < 0.04))
        if runs and rng.random() < 0.1:  # retried: it now counts for its new run's agent
            store.start_run(
                Run(task_id=task_id, number=runs + 1, trigger="retry",
                    agent=rng.choice(AGENTS), model=rng.choice(MODELS))
            )  # fmt: skip
    for n in range(5):
        tl.create_task(f"Unfinished {n}")


def awkward_costs(count: int) -> list[Decimal]:
    """Costs of 24 digits that SQLite's own text-to-float conversion rounds to another float
    than Python's does (none, on a SQLite that rounds correctly)."""
    rng = random.Random(24)
    found: list[Decimal] = []
    with sqlite3.connect(":memory:") as conn:
        while len(found) < count:
            for _ in range(20_000):
                cost = Decimal(rng.randrange(10**23, 10**24)).scaleb(-12)
                [[as_float]] = conn.execute("SELECT CAST(? AS DOUBLE PRECISION)", (str(cost),))
                if as_float != float(cost):
                    found.append(cost)
                    break
            else:
                break
    return found


def test_the_database_report_equals_the_straightforward_one(tl: Taskline) -> None:
    fill(tl, random.Random(14), 400)
    # The costs far above the rest, which the report shows as they are, must be read from
    # the exact money, not from the float the database orders them by.
    costs = awkward_costs(3)
    for n, cost in enumerate(costs):
        task_id = tl.create_task(f"Costly {n}").id
        costly = metrics(task_id, random.Random(n), outlier=False)
        tl.store.save_metrics(costly.model_copy(update={"cost_per_task": cost}))

    expected = assert_same_report(tl.store)

    # The data set reaches every branch: outliers on each measure, unknown costs in every
    # group, the "-" group of tasks without a run (and of the model called "-").
    assert expected["tasks"] == 400 + len(costs)
    assert {flag["measure"] for flag in expected["outliers"]} == set(MEASURES)
    assert sorted(expected["by_agent"]) == ["-", *sorted(AGENTS)]
    assert sorted(expected["by_model"]) == sorted(MODELS)
    groups = [*expected["by_agent"].values(), *expected["by_model"].values()]
    assert all(group["cost_per_task"]["unknown"] > 0 for group in groups)


def test_the_report_follows_every_change_to_the_metrics_and_the_runs(tl: Taskline) -> None:
    store = tl.store
    rng = random.Random(7)
    assert_same_report(store)  # nothing finished: counts of zero, no values
    task_ids = []
    for n in range(12):
        task_ids.append(tl.create_task(f"Task {n}").id)
        store.save_metrics(metrics(task_ids[-1], rng, outlier=n == 5))
        assert_same_report(store)  # one task, two (no median yet), three, even and odd counts
    for number, task_id in enumerate(task_ids[:4], start=1):
        store.start_run(Run(task_id=task_id, number=1, trigger="first", agent=AGENTS[number % 4],
                            model=MODELS[number % 3]))  # fmt: skip
        assert_same_report(store)
    store.save_metrics(metrics(task_ids[0], rng, outlier=True))  # metrics replaced
    assert_same_report(store)


def test_a_mean_on_a_rounding_boundary_is_added_up_exactly(tl: Taskline) -> None:
    # 5e-7 as a float is a hair below 0.0000005, so its mean rounds down to 0.0; the sum the
    # database returns cannot tell the hair apart, and the values are read to settle it.
    for n in range(3):
        task_id = tl.create_task(f"Task {n}").id
        base = metrics(task_id, random.Random(n), outlier=False)
        tl.store.save_metrics(base.model_copy(update={"duration_seconds": 5e-7}))

    expected = assert_same_report(tl.store)

    assert expected["overall"]["duration_seconds"]["mean"] == 0.0
    assert mean_from_sum(3 * 5e-7, 1e-21, 3) is None


def test_the_rows_are_paged_by_task_id(tl: Taskline) -> None:
    fill(tl, random.Random(3), 30)
    every = {row.task_id: row for row in reference_rows(tl.store)}
    ids = sorted(every)
    stored = {m.task_id: m.updated_at for m in tl.store.list_metrics()}

    rows, total = tl.store.page_metrics(limit=None)
    assert total == 30
    assert rows == [(every[task_id], stored[task_id]) for task_id in ids]

    def page(**kwargs: Any) -> list[str]:
        found, count = tl.store.page_metrics(**kwargs)
        assert count == 30
        return [row.task_id for row, _at in found]

    assert page(limit=4) == ids[:4]
    assert page(limit=4, offset=3) == ids[3:7]
    assert page(limit=4, after=ids[9]) == ids[10:14]
    assert page(limit=4, after=ids[9], offset=1) == ids[11:15]
    assert page(limit=3, newest_first=True) == ids[::-1][:3]
    assert page(limit=3, newest_first=True, after=ids[5]) == ids[4::-1][:3]
    assert page(limit=3, after=ids[-1]) == []


def test_a_mean_from_a_sum_is_the_mean_or_nothing() -> None:
    settled = []
    for seed in range(300):
        rng = random.Random(seed)
        values = [rng.choice([rng.uniform(0, 1e-5), rng.uniform(0, 1e4), 5e-7]) for _ in range(50)]
        # added up in an order of the database's own, with a bound that covers it
        total = 0.0
        for value in sorted(values, key=lambda _: rng.random()):
            total += value
        error = 4 * 52 * 2.0**-53 * sum(values)

        mean = mean_from_sum(total, error, len(values))

        if mean is not None:
            settled.append((mean, round(statistics.fmean(values), 6)))
    assert len(settled) > 290  # the values are read again only on a knife's edge
    assert [got for got, _ in settled] == [exact for _, exact in settled]
    assert mean_from_sum(sum(range(7)), 0.0, 7) == 3.0  # integers: always exact
