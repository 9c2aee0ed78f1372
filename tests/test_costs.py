"""Cost totals and `taskline costs`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from taskline import Status, Taskline
from taskline.cli import app
from taskline.costs import total
from taskline.records import CostRecord, Run
from tests.lifecycle_paths import task_in


def _record(run: Run, turn: int, cost: str | None, purpose: str = "agent") -> CostRecord:
    return CostRecord(
        task_id=run.task_id, run_id=run.id, turn=turn, purpose=purpose, agent="coder",
        provider="openai", model="gpt-4o-mini", input_tokens=1000 * turn, output_tokens=100,
        cache_read_tokens=500, reasoning_tokens=10,
        cost_usd=None if cost is None else Decimal(cost),
        price_source="unknown" if cost is None else "genai-prices",
        latency_ms=5, finish_reason="stop",
    )  # fmt: skip


def _run(tl: Taskline) -> Run:
    task_id = task_in(tl, Status.IN_PROGRESS)
    return tl.store.start_run(
        Run(task_id=task_id, number=1, trigger="first", agent="coder", model="openai:gpt-4o-mini")
    )


def test_total_is_unknown_when_any_call_is_unpriced(tl: Taskline) -> None:
    run = _run(tl)
    priced = [_record(run, 1, "0.0001"), _record(run, 2, "0.00025")]
    sums = total(priced)
    assert (sums.calls, sums.input_tokens, sums.output_tokens, sums.tokens) == (2, 3000, 200, 3200)
    assert (sums.cost_usd, sums.priced_cost_usd, sums.unpriced_calls) == (
        Decimal("0.00035"),
        Decimal("0.00035"),
        0,
    )
    with_unknown = total([*priced, _record(run, 3, None)])
    assert (with_unknown.cost_usd, with_unknown.priced_cost_usd, with_unknown.unpriced_calls) == (
        None,
        Decimal("0.00035"),
        1,
    )
    assert total([]).cost_usd == Decimal(0)


def test_costs_command(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Taskline.open(home=home, env={}) as tl:
        tl.add_agent("coder", model="openai:gpt-4o-mini")
        run = _run(tl)
        other = _run(tl)
        tl.store.add_cost_record(_record(run, 1, "0.0001"))
        tl.store.add_cost_record(_record(run, 1, "0.002", purpose="review"))
        tl.store.add_cost_record(_record(other, 1, None))
    cli = CliRunner(env={"TASKLINE_HOME": str(home)})

    result = cli.invoke(app, ["costs", "--task", run.task_id, "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [(r["turn"], r["purpose"], r["cost_usd"]) for r in data["records"]] == [
        (1, "agent", 0.0001),
        (1, "review", 0.002),
    ]
    assert data["totals"] == {
        "calls": 2, "input_tokens": 2000, "output_tokens": 200, "cache_read_tokens": 1000,
        "cache_write_tokens": 0, "reasoning_tokens": 20, "cost_usd": 0.0021,
        "priced_cost_usd": 0.0021, "unpriced_calls": 0, "lost_calls": 0,
    }  # fmt: skip

    everything = cli.invoke(app, ["costs"])
    assert everything.exit_code == 0, everything.stderr
    assert everything.stdout.splitlines()[-1] == (
        "3 calls, 3,000 input + 300 output tokens, total unknown"
        " (1 unpriced; priced calls $0.002100)"
    )

    missing = cli.invoke(app, ["costs", "--task", "NOPE"])
    assert (missing.exit_code, missing.stderr) == (1, "error: no task 'NOPE'\n")
