"""Budgets that hold: tokens for any model, USD only where a price is known."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from taskline import Status, Taskline
from taskline.errors import ConfigError
from taskline.llm.registry import EndpointConfig

from .scripting import call, costs_of, failure, runs_of, scripted, submit

D = Decimal


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_token_budget_stops_before_the_call_that_would_cross_it(tl: Taskline, home: Path) -> None:
    # each call uses 100 input and 20 output tokens
    factory, [model] = scripted(
        [call("list_dir", path="."), call("list_dir", path="a"), submit("too late")]
    )
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Wordy", budget_tokens=200)
    tl.assign(task.id, "coder")

    done = tl.run_task(task.id)

    message = "used 240 of the 200-token budget before the work was submitted"
    assert (done.status, done.failure_category, done.failure_message) == (
        Status.FAILED, "budget_exhausted", message,
    )  # fmt: skip
    assert runs_of(tl, task.id) == [(1, "first", "failed", None, "budget_exhausted", message)]
    assert len(model.calls) == 2
    assert tl.get_task(task.id).budget_tokens == 200


def test_token_budget_comes_from_the_agent_when_the_task_sets_none(
    tl: Taskline, home: Path
) -> None:
    tl.add_agent("thrifty", model="scripted:none", budget_tokens=100)
    factory, [model] = scripted([call("list_dir", path="."), submit("too late")])
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Wordy")
    tl.assign(task.id, "thrifty")

    tl.run_task(task.id)

    message = "used 120 of the 100-token budget before the work was submitted"
    assert failure(tl, task.id) == (Status.FAILED, "budget_exhausted", message)
    assert len(model.calls) == 1
    assert tl.get_agent("thrifty").budget_tokens == 100


def test_unpriced_calls_do_not_slip_past_a_usd_budget(tl: Taskline, home: Path) -> None:
    factory, [model] = scripted(
        [call("list_dir", path=".", cost_usd=None), submit("never reached")]
    )
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Unpriced", budget_usd="1")
    tl.assign(task.id, "coder")

    tl.run_task(task.id)

    message = (
        "1 call had no known price, so the $1 budget cannot be held; give the endpoint"
        " prices in taskline.toml or use a token budget"
    )
    assert failure(tl, task.id) == (Status.FAILED, "budget_exhausted", message)
    assert len(model.calls) == 1
    assert costs_of(tl, task.id) == [(1, "agent", 1, "coder", 100, 20, None)]


def test_usd_budget_on_a_model_without_a_price_is_refused_at_start(tl: Taskline) -> None:
    tl.add_agent("mystery", model="myserver:house-model-7")
    task = tl.create_task("Priced nowhere", budget_usd="0.5")
    tl.assign(task.id, "mystery")
    tl.config = tl.config.model_copy(
        update={
            "endpoints": {
                "myserver": EndpointConfig(kind="openai", base_url="http://127.0.0.1:9/v1")
            }
        }
    )

    with pytest.raises(ConfigError) as caught:
        tl.run_task(task.id)

    assert str(caught.value) == (
        f"task {task.id} has a $0.5 budget but no price is known for myserver:house-model-7;"
        " give the endpoint a price with prices = { input_usd_per_mtok = ...,"
        " output_usd_per_mtok = ... } in [endpoints.myserver] of taskline.toml,"
        " or use --budget-tokens"
    )
    assert tl.get_task(task.id).status is Status.ASSIGNED
    assert tl.runs(task.id) == []
