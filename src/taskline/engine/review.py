"""Reviewing handed-in work: executable checks first, then a reviewer agent.

A person's review (`taskline review approve|reject`) comes after both and is
handled by the executor; this module only produces verdicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from taskline.costs import total
from taskline.engine.billing import CallSite, billed_call
from taskline.engine.events import OnEvent, ProgressEvent
from taskline.engine.steps import InlineSteps
from taskline.llm.types import (
    Message,
    ModelResponse,
    SystemMessage,
    ToolDefinition,
    ToolResultMessage,
    UserMessage,
)
from taskline.models import Agent, Task, describe_validation_error, utcnow
from taskline.protocols import Model, Steps, Store
from taskline.records import Artifact, Run
from taskline.tools import ToolContext
from taskline.tools.base import arguments_schema
from taskline.tools.shell import RUN_COMMAND

CHECK_TIMEOUT_SECONDS = 300.0
REVIEW_MAX_TURNS = 3
OUTPUT_TAIL_CHARS = 1500


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


async def run_checks(task: Task, context: ToolContext) -> Verdict | None:
    """Run the task's checks in its workspace, one after another; None when it has none."""
    if not task.checks:
        return None
    results = []
    for command in task.checks:
        result = await RUN_COMMAND.run(
            {"command": command, "timeout_seconds": CHECK_TIMEOUT_SECONDS}, context
        )
        results.append({"command": command, "passed": not result.is_error, "output": result.output})
    failed = [r for r in results if not r["passed"]]
    if not failed:
        feedback = f"all {len(results)} checks passed"
    else:
        feedback = f"{len(failed)} of {len(results)} checks failed:\n" + "\n".join(
            f"$ {r['command']}\n{str(r['output'])[-OUTPUT_TAIL_CHARS:]}" for r in failed
        )
    return Verdict(
        reviewer="checks", approved=not failed, feedback=feedback, details={"checks": results}
    )


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
    ) -> None:
        self.steps: Steps = steps or InlineSteps()
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
        response = await self.steps.run(
            f"review {self.reviewer.name} {turn}",
            billed_call,
            self.store,
            self.model,
            site,
            turn,
            list(messages),
            [SUBMIT_REVIEW],
        )
        # Progress is the run's so far, the agent's calls and the review's together.
        run_so_far = total(r for r in self.store.cost_records(task.id) if r.run_id == self.run.id)
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
