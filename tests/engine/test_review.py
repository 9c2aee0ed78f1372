"""Review after the work is handed in: a reviewer agent, a person through the library and the CLI."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from taskline import Status, Taskline
from taskline.cli import app
from taskline.llm.scripted import ScriptedResponse
from taskline.llm.types import Usage
from taskline.protocols import Model
from taskline.service import default_actor

from .scripting import (
    CREATED_AND_ASSIGNED,
    STARTED,
    SUBMITTED,
    USER,
    call,
    costs_of,
    metrics_of,
    names,
    runs_of,
    scripted,
    submit,
    task_prompt,
    trail,
)

D = Decimal
REVIEW_USAGE = Usage(input_tokens=300, output_tokens=30)
CRITERION = "hello.txt says hello"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def verdict(*, met: bool, reason: str, feedback: str) -> ScriptedResponse:
    arguments: dict[str, Any] = {
        "verdicts": [{"criterion": CRITERION, "met": met, "reason": reason}],
        "approved": met,
        "feedback": feedback,
    }
    return ScriptedResponse.model_validate(
        {
            "tool_calls": [{"name": "submit_review", "arguments": arguments}],
            "usage": REVIEW_USAGE,
            "cost_usd": "0.003",
        }
    )


def test_reviewer_rejects_then_approves_the_rework(tl: Taskline, home: Path) -> None:
    # The factory hands out models in the order the engine asks: coder, reviewer, coder, reviewer.
    factory, [coder1, reviewer1, coder2, reviewer2] = scripted(
        [call("write_file", path="hello.txt", content="hi\n"), submit("Wrote hi.")],
        [verdict(met=False, reason="it says hi", feedback="Write hello, not hi.")],
        [call("write_file", path="hello.txt", content="hello\n"), submit("Now it says hello.")],
        [verdict(met=True, reason="it does", feedback="Good.")],
    )
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Greet", criteria=[CRITERION], reviewers=["reviewer"])
    tl.assign(task.id, "coder")

    done = tl.run_task(task.id)

    feedback = f"- {CRITERION}: it says hi\nWrite hello, not hi."
    assert (done.status, done.summary, done.failure_category) == (
        Status.COMPLETED, "Now it says hello.", None,
    )  # fmt: skip
    assert trail(tl, task.id) == [
        *CREATED_AND_ASSIGNED,
        STARTED,
        SUBMITTED,
        (Status.IN_REVIEW, Status.IN_PROGRESS, "agent:reviewer", f"rework: {feedback}"),
        SUBMITTED,
        (Status.IN_REVIEW, Status.COMPLETED, "agent:reviewer", "Good."),
    ]
    assert runs_of(tl, task.id) == [
        (1, "first", "submitted", "Wrote hi.", None, None),
        (2, "rework", "submitted", "Now it says hello.", None, None),
    ]
    first_run, rework_run = tl.runs(task.id)
    assert rework_run.feedback == feedback
    # The rework prompt carried the reviewer's feedback; the first one had none.
    rework_prompt = task_prompt(coder2.calls[0])
    assert (
        f"## Review feedback on your previous attempt\n{feedback}\n"
        "Address every point, then call submit_work again."
    ) in rework_prompt
    assert "Review feedback" not in task_prompt(coder1.calls[0])
    # The reviewer was offered only submit_review, and shown the summary and the change.
    assert names(reviewer1.calls[0].tools) == ["submit_review"]
    review_prompt = task_prompt(reviewer1.calls[0])
    assert f"- {CRITERION}" in review_prompt
    assert "## The agent's summary\nWrote hi." in review_prompt
    assert "- created hello.txt (3 bytes)" in review_prompt
    assert "### hello.txt\n```\n" in review_prompt
    assert "## The agent's summary\nNow it says hello." in task_prompt(reviewer2.calls[0])
    reviews = tl.store.reviews(task.id)
    assert [(r.run_id, r.reviewer, r.approved, r.feedback) for r in reviews] == [
        (first_run.id, "agent:reviewer", False, feedback),
        (rework_run.id, "agent:reviewer", True, "Good."),
    ]
    assert reviews[0].details == {
        "criteria": [{"criterion": CRITERION, "met": False, "reason": "it says hi"}]
    }
    assert costs_of(tl, task.id) == [
        (1, "agent", 1, "coder", 100, 20, D("0.001")),
        (1, "agent", 2, "coder", 100, 20, D("0.001")),
        (1, "review", 1, "reviewer", 300, 30, D("0.003")),
        (2, "agent", 1, "coder", 100, 20, D("0.001")),
        (2, "agent", 2, "coder", 100, 20, D("0.001")),
        (2, "review", 1, "reviewer", 300, 30, D("0.003")),
    ]
    # Turns are the executing agent's; tokens and cost include the review calls.
    assert metrics_of(tl, task.id) == (4, 1140, 1000, 140, D("0.010"), 0, 4, 2)
    assert [(a.path, a.change, a.size) for a in tl.artifacts(task.id)] == [
        ("hello.txt", "created", 3),
        ("hello.txt", "modified", 6),
    ]


def test_reviewer_without_a_verdict_rejects(tl: Taskline, home: Path) -> None:
    silent = ScriptedResponse(text="Looks fine to me.", usage=REVIEW_USAGE, cost_usd=D("0.003"))
    factory, [_coder, reviewer] = scripted([submit("Done.")], [silent, silent, silent])
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Greet", criteria=[CRITERION], reviewers=["reviewer"], max_rework=0)
    tl.assign(task.id, "coder")

    tl.run_task(task.id)

    feedback = "reviewer reviewer gave no verdict in 3 turns"
    message = f"rejected after 0 rework rounds: {feedback}"
    task = tl.get_task(task.id)
    assert (task.status, task.failure_category, task.failure_message) == (
        Status.FAILED, "review_rejected", message,
    )  # fmt: skip
    assert trail(tl, task.id)[-1] == (Status.IN_REVIEW, Status.FAILED, "agent:reviewer", message)
    # Asked again after each answer without the tool.
    assert [c.messages[-1].content for c in reviewer.calls[1:]] == [
        "Call submit_review with your verdict.",
        "Call submit_review with your verdict.",
    ]
    assert [row[1:3] for row in costs_of(tl, task.id)] == [
        ("agent", 1), ("review", 1), ("review", 2), ("review", 3),
    ]  # fmt: skip
    assert metrics_of(tl, task.id) == (1, 1110, 1000, 110, D("0.010"), 0, 1, 1)


def human_review_task(tl: Taskline) -> str:
    task = tl.create_task("Greet", criteria=[CRITERION], human_review=True)
    tl.assign(task.id, "coder")
    return task.id


def test_human_review_through_the_library(tl: Taskline, home: Path) -> None:
    factory, [_first, rework] = scripted(
        [call("write_file", path="hello.txt", content="hello\n"), submit("Wrote hello.")],
        [call("write_file", path="hello.txt", content="hello!\n"), submit("Added emphasis.")],
    )
    tl.home, tl.model_factory = home, factory
    task_id = human_review_task(tl)

    waiting = tl.run_task(task_id)

    assert (waiting.status, waiting.summary) == (Status.IN_REVIEW, "Wrote hello.")
    assert tl.metrics(task_id) is None  # not finished: waiting for a person
    assert tl.store.reviews(task_id) == []

    again = tl.review(task_id, approve=False, feedback="Say it louder.")

    assert (again.status, again.summary) == (Status.IN_REVIEW, "Added emphasis.")
    rework_prompt = task_prompt(rework.calls[0])
    assert "## Review feedback on your previous attempt\nSay it louder.\n" in rework_prompt

    done = tl.review(task_id, approve=True)

    assert (done.status, done.summary) == (Status.COMPLETED, "Added emphasis.")
    assert trail(tl, task_id) == [
        *CREATED_AND_ASSIGNED,
        STARTED,
        SUBMITTED,
        (Status.IN_REVIEW, Status.IN_PROGRESS, USER, "rework: Say it louder."),
        SUBMITTED,
        (Status.IN_REVIEW, Status.COMPLETED, USER, "approved"),
    ]
    runs = tl.runs(task_id)
    assert [(r.number, r.trigger, r.status, r.feedback) for r in runs] == [
        (1, "first", "submitted", ""),
        (2, "rework", "submitted", "Say it louder."),
    ]
    assert [(r.run_id, r.reviewer, r.approved, r.feedback) for r in tl.store.reviews(task_id)] == [
        (runs[0].id, USER, False, "Say it louder."),
        (runs[1].id, USER, True, "approved"),
    ]
    assert metrics_of(tl, task_id) == (4, 480, 400, 80, D("0.004"), 0, 4, 2)


def test_human_review_through_the_cli(
    tl: Taskline, home: Path, tmp_path: Path, database_url: str
) -> None:
    # A real model reference: the CLI's rework run builds its model from it, as in production.
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            [
                {
                    "tool_calls": [
                        {
                            "name": "write_file",
                            "arguments": {"path": "hello.txt", "content": "hello\n"},
                        }
                    ],
                    "usage": {"input_tokens": 100, "output_tokens": 20},
                    "cost_usd": "0.001",
                },
                {
                    "tool_calls": [
                        {"name": "submit_work", "arguments": {"summary": "Wrote hello."}}
                    ],
                    "usage": {"input_tokens": 100, "output_tokens": 20},
                    "cost_usd": "0.001",
                },
            ]
        )  # fmt: skip
    )
    tl.add_agent("scripter", model=f"scripted:{script}")
    tl.home = home
    task = tl.create_task("Greet", criteria=[CRITERION], human_review=True)
    tl.assign(task.id, "scripter")
    assert tl.run_task(task.id).status is Status.IN_REVIEW
    cli = CliRunner(env={"TASKLINE_HOME": str(home), "TASKLINE_DATABASE_URL": database_url})

    rejected = cli.invoke(app, ["review", "reject", task.id, "--feedback", "Once more."])

    assert rejected.exit_code == 0, (rejected.stdout, rejected.stderr)
    assert tl.get_task(task.id).status is Status.IN_REVIEW

    approved = cli.invoke(app, ["review", "approve", task.id])

    assert approved.exit_code == 0, (approved.stdout, approved.stderr)
    assert approved.stderr == ""
    person = default_actor()
    submitted = (Status.IN_PROGRESS, Status.IN_REVIEW, "agent:scripter", "work submitted")
    assert trail(tl, task.id) == [
        *CREATED_AND_ASSIGNED,
        STARTED,
        submitted,
        (Status.IN_REVIEW, Status.IN_PROGRESS, person, "rework: Once more."),
        submitted,
        (Status.IN_REVIEW, Status.COMPLETED, person, "approved"),
    ]
    assert [(r.reviewer, r.approved, r.feedback) for r in tl.store.reviews(task.id)] == [
        (person, False, "Once more."),
        (person, True, "approved"),
    ]
    assert [(r.trigger, r.status, r.feedback) for r in tl.runs(task.id)] == [
        ("first", "submitted", ""),
        ("rework", "submitted", "Once more."),
    ]
    assert metrics_of(tl, task.id) == (4, 480, 400, 80, D("0.004"), 0, 4, 2)

    again = cli.invoke(app, ["review", "approve", task.id])

    assert again.exit_code == 1
    assert again.stderr == f"error: task {task.id} is COMPLETED, not IN_REVIEW\n"


def test_reviewer_provider_error_fails_the_task(tl: Taskline, home: Path) -> None:
    factory, _ = scripted(
        [submit("Done.")], [ScriptedResponse(error="reviewer down", status_code=500)]
    )
    tl.home, tl.model_factory = home, factory
    task = tl.create_task("Greet", criteria=[CRITERION], reviewers=["reviewer"])
    tl.assign(task.id, "coder")

    tl.run_task(task.id)

    message = "review failed: scripted:script failed after 1 attempt: reviewer down"
    task = tl.get_task(task.id)
    assert (task.status, task.failure_category, task.failure_message) == (
        Status.FAILED, "provider_error", message,
    )  # fmt: skip
    assert trail(tl, task.id)[-1] == (Status.IN_REVIEW, Status.FAILED, "system", message)
    assert metrics_of(tl, task.id) == (1, 120, 100, 20, D("0.001"), 0, 1, 1)


def test_reviewer_model_that_cannot_be_built_fails_the_task(tl: Taskline, home: Path) -> None:
    tl.add_agent("ghost-reviewer", model="nosuch:model")
    factory, _ = scripted([submit("Done.")])
    tl.home = home
    tl.model_factory = lambda ref: factory(ref) if ref == "scripted:none" else _unknown(ref)
    task = tl.create_task("Greet", criteria=[CRITERION], reviewers=["ghost-reviewer"])
    tl.assign(task.id, "coder")

    tl.run_task(task.id)

    task = tl.get_task(task.id)
    assert (task.status, task.failure_category, task.failure_message) == (
        Status.FAILED, "crashed", "review failed: no model nosuch:model",
    )  # fmt: skip
    assert trail(tl, task.id)[-1] == (
        Status.IN_REVIEW, Status.FAILED, "system", "review failed: no model nosuch:model",
    )  # fmt: skip
    assert tl.metrics(task.id) is not None


def _unknown(ref: str) -> Model:
    raise RuntimeError(f"no model {ref}")
