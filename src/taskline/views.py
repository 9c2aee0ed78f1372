"""The one JSON shape of each record a person or a program reads: a task with its log,
a run with its turns, an artifact, the cost records with their totals.

`taskline ... --json` prints `View.of(...).model_dump(mode="json")`, and the HTTP
API answers the same, with the same model as its OpenAPI schema: the CLI and the
API cannot drift apart. A view is its record (a subclass) without the fields its
place already says, such as the `task_id` of a run listed under its task.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from taskline.costs import CostTotals, total
from taskline.lifecycle import Status
from taskline.models import Task, TaskEvent, Transition
from taskline.records import (
    FAILURE_CATEGORIES,
    Artifact,
    CostRecord,
    Review,
    Run,
    TaskDetail,
    TaskMetrics,
    ToolCallRecord,
    Turn,
)


class _View(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)


class Failure(_View):
    """Why a task FAILED."""

    category: str | None = Field(
        description="One of " + ", ".join(f"`{c}`" for c in FAILURE_CATEGORIES) + "."
    )
    message: str | None
    """The failure in words."""

    @classmethod
    def of(cls, task: Task) -> Failure | None:
        """The task's failure; None unless it has one."""
        if not (task.failure_category or task.failure_message):
            return None
        return cls(category=task.failure_category, message=task.failure_message)


class TransitionView(_View):
    """One status change."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_status: Status | None = Field(alias="from")
    """Status before; null for the creation."""
    to_status: Status = Field(alias="to")
    """Status after."""
    at: datetime
    """When."""
    actor: str
    """Who: `user:NAME`, `agent:NAME`, `checks` or `system`."""
    reason: str
    """Why."""

    @classmethod
    def of(cls, transition: Transition) -> TransitionView:
        """`transition` without its task and place in the log, which the task's log says."""
        return cls.model_validate(transition, from_attributes=True)


class EventView(_View):
    """An audited change that is not a move, e.g. a reassignment."""

    kind: str
    """What happened, e.g. `reassigned`."""
    at: datetime
    """When."""
    actor: str
    """Who."""
    detail: dict[str, Any]
    """Its facts."""

    @classmethod
    def of(cls, event: TaskEvent) -> EventView:
        """`event` without its task."""
        return cls.model_validate(event, from_attributes=True)


class TaskView(Task):
    """A task with its transition log, as `taskline task create --json` prints it."""

    model_config = ConfigDict(extra="ignore")

    # Shown together as `failure`.
    failure_category: SkipJsonSchema[str | None] = Field(default=None, exclude=True)
    failure_message: SkipJsonSchema[str | None] = Field(default=None, exclude=True)
    failure: Failure | None
    """Why the task FAILED; null otherwise."""
    transitions: list[TransitionView]
    """Status changes, oldest first, starting with the creation."""
    events: list[EventView]
    """Audited events that are not moves."""

    @classmethod
    def of(
        cls, task: Task, trail: Sequence[Transition], events: Sequence[TaskEvent] = ()
    ) -> TaskView:
        """`task` with its transition log and its events."""
        return cls(**_task_fields(task, trail, events))


def _task_fields(
    task: Task, trail: Sequence[Transition], events: Sequence[TaskEvent]
) -> dict[str, Any]:
    return {
        **dict(task),
        "failure": Failure.of(task),
        "transitions": [TransitionView.of(t) for t in trail],
        "events": [EventView.of(e) for e in events],
    }


class ArtifactView(Artifact):
    """A file a run changed."""

    model_config = ConfigDict(extra="ignore")

    task_id: SkipJsonSchema[str] = Field(default="", exclude=True)
    run_id: SkipJsonSchema[str] = Field(default="", exclude=True)


class RunArtifactView(Artifact):
    """A file a run changed, with the run: what a download names."""

    model_config = ConfigDict(extra="ignore")

    task_id: SkipJsonSchema[str] = Field(default="", exclude=True)

    @classmethod
    def of(cls, artifact: Artifact) -> RunArtifactView:
        """`artifact`, without the task it is listed under."""
        return cls(**dict(artifact))


class MetricsView(TaskMetrics):
    """A task's overhead over all of its runs, review calls included."""

    model_config = ConfigDict(extra="ignore")

    task_id: SkipJsonSchema[str] = Field(default="", exclude=True)
    updated_at: SkipJsonSchema[datetime | None] = Field(default=None, exclude=True)  # type: ignore[assignment]


class ReviewView(Review):
    """A verdict from the checks, a reviewer agent or a person."""

    model_config = ConfigDict(extra="ignore")

    task_id: SkipJsonSchema[str] = Field(default="", exclude=True)


class ToolCallView(ToolCallRecord):
    """A tool call and its result."""

    model_config = ConfigDict(extra="ignore")

    run_id: SkipJsonSchema[str] = Field(default="", exclude=True)
    turn: SkipJsonSchema[int] = Field(default=1, exclude=True)


class TurnView(Turn):
    """One LLM call and the tool calls it asked for."""

    model_config = ConfigDict(extra="ignore")

    run_id: SkipJsonSchema[str] = Field(default="", exclude=True)
    tool_calls: list[ToolCallView]
    """The calls, in the order the model asked for them."""


class RunView(Run):
    """One execution attempt, with its turns."""

    model_config = ConfigDict(extra="ignore")

    task_id: SkipJsonSchema[str] = Field(default="", exclude=True)
    turns: list[TurnView]
    """Its turns, in order."""

    @classmethod
    def of(cls, run: Run, turns: Sequence[Turn], tool_calls: Sequence[ToolCallRecord]) -> RunView:
        """`run` with its `turns`, each with the `tool_calls` it asked for."""
        return cls(
            **dict(run),
            turns=[
                TurnView(
                    **dict(turn),
                    tool_calls=[
                        ToolCallView(**dict(c)) for c in tool_calls if c.turn == turn.number
                    ],
                )
                for turn in turns
            ],
        )


class TaskDetailView(TaskView):
    """A task with everything its runs left, as `taskline task show --json` prints it."""

    artifacts: list[ArtifactView]
    """Files its runs changed."""
    metrics: MetricsView | None
    """Its overhead; null until it first finished."""
    reviews: list[ReviewView]
    """Verdicts, oldest first."""
    runs: list[RunView]
    """Runs, first to last."""

    @classmethod
    def of_detail(
        cls,
        task: Task,
        trail: Sequence[Transition],
        events: Sequence[TaskEvent],
        detail: TaskDetail,
    ) -> TaskDetailView:
        """`task` with its log, its events and what its runs left."""
        return cls(
            **_task_fields(task, trail, events),
            artifacts=[ArtifactView(**dict(a)) for a in detail.artifacts],
            metrics=None if detail.metrics is None else MetricsView(**dict(detail.metrics)),
            reviews=[ReviewView(**dict(r)) for r in detail.reviews],
            runs=[
                RunView.of(run, detail.turns.get(run.id, []), detail.tool_calls.get(run.id, []))
                for run in detail.runs
            ],
        )


class CostsView(_View):
    """Billed LLM calls and their totals, as `taskline costs --json` prints them."""

    records: list[CostRecord]
    """The calls, oldest first."""
    totals: CostTotals
    """What they add up to."""

    @classmethod
    def of(cls, records: Sequence[CostRecord]) -> CostsView:
        """`records` with their totals."""
        return cls(records=list(records), totals=total(records))
