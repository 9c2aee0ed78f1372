"""What the HTTP API alone answers, as OpenAPI schemas: errors, health, the lifecycle,
previews, metrics reports and progress events.

Tasks, runs, artifacts and costs are answered as `taskline.views`, the models
`taskline ... --json` prints; the API never shapes a record of its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from taskline.lifecycle import ENDED, INITIAL, ORDER, TERMINAL, Status, allowed_targets
from taskline.models import PRIORITIES, Priority
from taskline.records import ChangeKind
from taskline.views import TaskView as TaskView  # api/work.py answers it too


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


class Lifecycle(_View):
    """The statuses a task goes through, the moves between them, and the priorities: what
    `taskline.lifecycle` and `taskline.models` define, for clients such as the dashboard."""

    statuses: list[Status]
    """Every status, in the order taskline lists them."""
    initial: Status
    """The status every task starts in."""
    terminal: list[Status]
    """Statuses a task never leaves."""
    ended: list[Status]
    """Statuses in which no run goes on and none starts by itself: the terminal ones and
    FAILED (which waits for a retry). A task's event stream ends there."""
    moves: dict[Status, list[Status]]
    """For each status, the statuses a task in it may move to, in order."""
    priorities: list[Priority]
    """Every priority, least urgent first."""

    @classmethod
    def current(cls) -> Lifecycle:
        """The lifecycle this taskline enforces."""
        return cls(
            statuses=list(ORDER),
            initial=INITIAL,
            terminal=[s for s in ORDER if s in TERMINAL],
            ended=[s for s in ORDER if s in ENDED],
            moves={s: list(allowed_targets(s)) for s in ORDER},
            priorities=list(PRIORITIES),
        )


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
