"""What the HTTP API answers, as OpenAPI schemas.

Responses are built by `taskline.render.task_json` and the records' own
`model_dump(mode="json")`, exactly as `taskline ... --json` prints them; these
models describe that JSON for the OpenAPI schema (and for schemathesis, which
checks every response against it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from taskline.lifecycle import Status
from taskline.models import Task
from taskline.records import ChangeKind, Review, Run, TaskMetrics, ToolCallRecord, Turn


class _View(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)


class ErrorBody(_View):
    """Every error: one line, the same the CLI prints after `error: `."""

    detail: str
    """What went wrong and, where it helps, what is allowed."""


class Health(_View):
    """The server answers."""

    status: Literal["ok"]
    """Always `ok`."""


class Failure(_View):
    """Why a task FAILED."""

    category: str | None
    """`timeout`, `max_turns`, `budget_exhausted`, `provider_error`, `stagnation`,
    `review_rejected` or `crashed`."""
    message: str | None
    """The failure in words."""


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


class TaskView(Task):
    """A task with its transition log, as `taskline task create --json` prints it."""

    model_config = ConfigDict(extra="ignore")

    # task_json folds these two into `failure`.
    failure_category: SkipJsonSchema[str | None] = Field(default=None, exclude=True)
    failure_message: SkipJsonSchema[str | None] = Field(default=None, exclude=True)
    failure: Failure | None
    """Why the task FAILED; null otherwise."""
    transitions: list[TransitionView]
    """Status changes, oldest first, starting with the creation."""
    events: list[EventView]
    """Audited events that are not moves."""


class ArtifactView(_View):
    """A file a run changed."""

    path: str
    """Path relative to the workspace."""
    change: ChangeKind
    """`created`, `modified` or `deleted`."""
    size: int
    """Size in bytes (before deletion, for a deleted file)."""
    sha256: str
    """SHA-256 of the content."""


class RunArtifactView(ArtifactView):
    """A file a run changed, with the run: what a download names."""

    run_id: str
    """The run that changed it."""


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


class PreviewView(_View):
    """An artifact's content for display: text (bounded) and a diff where one can be made."""

    path: str
    """Path relative to the workspace."""
    run_id: str
    """The run that changed it."""
    change: ChangeKind
    """`created`, `modified` or `deleted`."""
    size: int
    """Size in bytes."""
    kept: bool
    """Whether the content was kept (files over 10 MiB are not)."""
    binary: bool
    """Whether the content is not UTF-8 text."""
    text: str | None
    """The content (before deletion, for a deleted file), cut at `PREVIEW_CHARS`."""
    truncated: bool
    """Whether `text` was cut."""
    diff: str | None
    """A unified diff against the file as the previous run left it, when known."""


class MetricsRow(_View):
    """One finished task's overhead, with who ran it and when its metrics were stored."""

    task_id: str
    """The task."""
    agent: str
    """Agent of its last run."""
    model: str
    """Model of its last run."""
    finished_at: datetime
    """When its metrics were last computed (it reached COMPLETED or FAILED)."""
    turns_per_task: float | None
    """LLM calls of the agent over all runs."""
    tokens_per_task: float | None
    """Input plus output tokens of every call."""
    cost_per_task: float | None
    """USD; null when a call was unpriced."""
    duration_seconds: float | None
    """Wall-clock time of all runs."""


class Distribution(_View):
    """A measure over many tasks."""

    count: int
    """Tasks with a known value."""
    unknown: int
    """Tasks whose value is unknown (an unpriced call)."""
    mean: float | None
    """Mean of the known values."""
    p50: float | None
    """Median (nearest rank)."""
    p90: float | None
    """90th percentile (nearest rank)."""
    max: float | None
    """Largest known value."""


class Group(_View):
    """The measures of one agent's or one model's tasks."""

    tasks: int
    """Tasks in the group."""
    turns_per_task: Distribution
    """LLM calls per task."""
    tokens_per_task: Distribution
    """Input plus output tokens per task."""
    cost_per_task: Distribution
    """USD per task."""
    duration_seconds: Distribution
    """Wall-clock seconds per task."""


class Outlier(_View):
    """A task far above the others on one measure."""

    task_id: str
    """The task."""
    measure: str
    """`turns_per_task`, `tokens_per_task`, `cost_per_task` or `duration_seconds`."""
    value: float
    """The task's value."""
    median: float
    """The median over all tasks."""
    times_median: float
    """`value` over `median`, to one decimal."""


class MetricsReport(_View):
    """Overhead across finished tasks, as `taskline metrics --json` prints it."""

    tasks: int
    """Tasks with metrics."""
    overall: dict[str, Distribution]
    """Each measure over all tasks."""
    by_agent: dict[str, Group]
    """Each measure per agent."""
    by_model: dict[str, Group]
    """Each measure per model."""
    outliers: list[Outlier]
    """Tasks more than three times the median on a measure."""


class ProgressView(_View):
    """Where an in-process run is (the `progress` server-sent event)."""

    kind: str
    """`run_started`, `model_call`, `tool_call`, `turn_finished`, `review`, `status` or
    `run_ended`."""
    run_number: int
    """Which run of the task."""
    turn: int
    """The current turn (0 before the first call)."""
    tokens: int
    """Input plus output tokens of the run so far."""
    cost_usd: float | None
    """Cost of the run so far; null when a call was unpriced."""
    elapsed_seconds: float
    """Since the run started."""
    detail: str
    """The tool being called, the new status, or the review verdict."""
