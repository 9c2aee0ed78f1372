"""Reviewing handed-in work: executable checks first, then a reviewer agent.

A person's review (`taskline review approve|reject`) comes after both and is
handled by the executor; this module only produces verdicts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from taskline.costs import total
from taskline.engine.billing import CallSite, billed_call
from taskline.engine.check_output import FailingTest, cut_lines, describe_failures, failing_tests
from taskline.engine.events import UNOBSERVED, OnEvent, ProgressEvent
from taskline.engine.steps import InlineSteps
from taskline.llm.types import (
    Message,
    ModelResponse,
    SystemMessage,
    ToolDefinition,
    ToolResultMessage,
    UserMessage,
)
from taskline.models import (
    DEFAULT_CHECK_TIMEOUT_SECONDS,
    Agent,
    Task,
    describe_validation_error,
    utcnow,
)
from taskline.protocols import Model, Observer, Steps, Store
from taskline.records import Artifact, Run
from taskline.tools import ToolContext
from taskline.tools.base import arguments_schema
from taskline.tools.result import ToolFailure
from taskline.tools.shell import describe_ending, execute_command

REVIEW_MAX_TURNS = 3
# A check's output is read whole for failing tests, then kept cut to its head and tail.
CHECK_CAPTURE_BYTES = 4_000_000
STORED_OUTPUT_CHARS = 20_000
# What the agent is shown per failed check on rework: output, and the failing tests
# (names all, assertion lines while room is left).
FEEDBACK_OUTPUT_CHARS = 4_000
FEEDBACK_OUTPUT_CHARS_WITH_TESTS = 1_500
FEEDBACK_TESTS_CHARS = 8_000


@dataclass(frozen=True)
class Verdict:
    """One reviewer's judgement of a run's work."""

    reviewer: str
    """`checks`, `agent:NAME`, `user:NAME` or `auto`."""
    approved: bool
    """Whether the work is accepted."""
    feedback: str
    """Why, in words the agent can act on."""
    details: dict[str, Any] = field(default_factory=dict)
    """Check results or per-criterion verdicts."""
    duration_seconds: float | None = None
    """Wall-clock time the review took; None for a person's."""


async def run_checks(task: Task, context: ToolContext) -> Verdict | None:
    """Run the task's checks in its workspace, one after another; None when it has none."""
    if not task.checks:
        return None
    timeout_seconds = task.check_timeout_seconds or DEFAULT_CHECK_TIMEOUT_SECONDS
    results = []
    for command in task.checks:
        try:
            outcome = await execute_command(
                command,
                context,
                timeout_seconds=timeout_seconds,
                max_output_bytes=CHECK_CAPTURE_BYTES,
            )
        except ToolFailure as exc:  # no sandbox could be made: the check did not run
            results.append(CheckResult(command=command, ending=str(exc), output=""))
            continue
        results.append(
            CheckResult(
                command=command,
                ending=describe_ending(outcome, timeout_seconds, context.sandbox.settings),
                output=outcome.output,
                exit_code=outcome.exit_code,
                passed=outcome.exit_code == 0
                and not (outcome.timed_out or outcome.too_many_processes),
                duration_seconds=outcome.duration_seconds,
            )
        )
    failed = [r for r in results if not r.passed]
    if failed:
        feedback = "\n\n".join(
            [
                f"{len(failed)} of {len(results)} checks failed: "
                + "; ".join(f"{r.command} ({r.headline()})" for r in failed),
                *(r.feedback() for r in failed),
            ]
        )
    else:
        feedback = f"all {len(results)} checks passed"
    return Verdict(
        reviewer="checks",
        approved=not failed,
        feedback=feedback,
        details={"checks": [r.stored() for r in results]},
        duration_seconds=round(sum(r.duration_seconds for r in results), 3),
    )


@dataclass(frozen=True)
class CheckResult:
    """One check's run: how it ended, what it printed and which tests failed."""

    command: str
    ending: str
    """How it ended in words: `exit code 1`, `timed out after 300 seconds; …`."""
    output: str
    """Its output as captured (head and tail of at most `CHECK_CAPTURE_BYTES`)."""
    exit_code: int | None = None
    """None when it could not be started."""
    passed: bool = False
    duration_seconds: float = 0.0

    @cached_property
    def failures(self) -> tuple[str, list[FailingTest]] | None:
        return None if self.passed else failing_tests(self.output)

    def headline(self) -> str:
        """`exit code 1, 54 failing tests`: the check's end in a few words."""
        if self.failures is None:
            return self.ending
        count = len(self.failures[1])
        return f"{self.ending}, {count} failing test{'' if count == 1 else 's'}"

    def feedback(self) -> str:
        """What the agent reads about this failed check."""
        parts = [f"$ {self.command}\n{self.ending}"]
        budget = FEEDBACK_OUTPUT_CHARS
        if self.failures is not None:
            parts.append(describe_failures(*self.failures, max_chars=FEEDBACK_TESTS_CHARS))
            budget = FEEDBACK_OUTPUT_CHARS_WITH_TESTS
        if self.output.strip():
            parts.append(f"Output:\n{cut_lines(self.output.rstrip(), budget)}")
        return "\n".join(parts)

    def stored(self) -> dict[str, Any]:
        """The result as kept with the review: the output cut to its head and tail."""
        stored: dict[str, Any] = {
            "command": self.command,
            "passed": self.passed,
            "exit_code": self.exit_code,
            "ending": self.ending,
            "duration_seconds": self.duration_seconds,
            "output": cut_lines(self.output, STORED_OUTPUT_CHARS),
        }
        if self.failures is not None:
            stored["failing_tests"] = [
                {"name": t.name, "lines": list(t.lines)} for t in self.failures[1]
            ]
        return stored


class CriterionVerdict(BaseModel):
    """The reviewer's judgement of one acceptance criterion."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    criterion: str
    """The criterion, as written in the task."""
    met: bool
    """Whether the work meets it."""
    reason: str
    """Why, briefly."""


class SubmitReview(BaseModel):
    """Arguments of the reviewer's `submit_review` tool."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    verdicts: list[CriterionVerdict]
    """One verdict per acceptance criterion."""
    approved: bool
    """Whether the work as a whole is accepted."""
    feedback: str
    """What the agent must change, if anything."""


SUBMIT_REVIEW = ToolDefinition(
    name="submit_review",
    description="Give your verdict on every acceptance criterion and on the work as a whole.",
    parameters=arguments_schema(SubmitReview),
)


def review_prompt(
    task: Task,
    summary: str,
    changes: Sequence[Artifact],
    checks: Verdict | None,
    diffs: dict[str, str],
) -> str:
    """What the reviewer agent is shown: the task, the summary, the artifacts and check results."""
    criteria = task.acceptance_criteria or (f"the work does what the title says: {task.title}",)
    parts = [
        f"# Task: {task.title}",
        task.description,
        "## Acceptance criteria\n" + "\n".join(f"- {c}" for c in criteria),
        f"## The agent's summary\n{summary}",
        "## Files changed\n"
        + ("\n".join(f"- {a.change} {a.path} ({a.size} bytes)" for a in changes) or "none"),
    ]
    parts += [f"### {path}\n```\n{text}\n```" for path, text in diffs.items()]
    if checks is not None:
        parts.append(f"## Checks\n{checks.feedback}")
    parts.append("Judge each criterion, then call submit_review.")
    return "\n\n".join(p for p in parts if p)


class AgentReviewer:
    """A reviewer agent judging a run's work, criterion by criterion."""

    def __init__(
        self,
        *,
        store: Store,
        model: Model,
        reviewer: Agent,
        run: Run,
        on_event: OnEvent,
        steps: Steps | None = None,
        observer: Observer = UNOBSERVED,
    ) -> None:
        self.steps: Steps = steps or InlineSteps()
        self.observer = observer
        self.store = store
        self.model = model
        self.reviewer = reviewer
        self.run = run
        self.on_event = on_event

    async def review(self, task: Task, prompt: str, first_turn: int) -> tuple[Verdict, int]:
        """The verdict, and the next free review turn number (turns are per run)."""
        messages: list[Message] = [
            SystemMessage(
                content=f"You are {self.reviewer.name}, reviewing work against its acceptance"
                f" criteria. {self.reviewer.instructions}".strip()
            ),
            UserMessage(content=prompt),
        ]
        turn = first_turn
        for _ in range(REVIEW_MAX_TURNS):
            response = await self._call(task, messages, turn)
            turn += 1
            messages.append(response.as_message())
            for call in response.tool_calls:
                try:
                    verdict = SubmitReview.model_validate(call.arguments)
                except ValidationError as exc:
                    messages.append(
                        ToolResultMessage(
                            tool_call_id=call.id,
                            name=call.name,
                            content=f"invalid arguments: {describe_validation_error(exc)}",
                            is_error=True,
                        )
                    )
                    continue
                return self._verdict(verdict), turn
            if not response.tool_calls:
                messages.append(UserMessage(content="Call submit_review with your verdict."))
        return (
            Verdict(
                reviewer=f"agent:{self.reviewer.name}",
                approved=False,
                feedback=(
                    f"reviewer {self.reviewer.name} gave no verdict in {REVIEW_MAX_TURNS} turns"
                ),
            ),
            turn,
        )

    def _verdict(self, review: SubmitReview) -> Verdict:
        unmet = [v for v in review.verdicts if not v.met]
        approved = review.approved and not unmet
        lines = [f"- {v.criterion}: {v.reason}" for v in unmet]
        if review.feedback:
            lines.append(review.feedback)
        return Verdict(
            reviewer=f"agent:{self.reviewer.name}",
            approved=approved,
            feedback="\n".join(lines) or "approved",
            details={"criteria": [v.model_dump() for v in review.verdicts]},
        )

    async def _call(self, task: Task, messages: Sequence[Message], turn: int) -> ModelResponse:
        site = CallSite(
            task_id=task.id, run_id=self.run.id, agent=self.reviewer.name, purpose="review"
        )
        response = await self.steps.unrecorded(
            f"review {self.reviewer.name} {turn}",
            billed_call,
            self.store,
            self.model,
            site,
            turn,
            list(messages),
            [SUBMIT_REVIEW],
            None,
            self.observer,
        )
        # Progress is the run's so far, the agent's calls and the review's together.
        records = await asyncio.to_thread(self.store.cost_records, task.id)
        run_so_far = total(r for r in records if r.run_id == self.run.id)
        self.on_event(
            ProgressEvent(
                kind="review",
                task_id=task.id,
                run_number=self.run.number,
                turn=turn,
                tokens=run_so_far.tokens,
                cost_usd=run_so_far.cost_usd,
                elapsed_seconds=(utcnow() - self.run.started_at).total_seconds(),
                detail=self.reviewer.name,
            )
        )
        return response
