"""What running a task leaves behind: runs, turns, tool calls, cost records,
artifacts, reviews and the task's overhead metrics.

All are append-only facts except a run (which ends) and the metrics (which are
recomputed when the task runs again). Money is `Decimal`, and None where the
price is unknown: unknown is never read as free.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, PlainSerializer

from taskline.ids import new_id
from taskline.models import Record, UtcDatetime, utcnow

FailureCategory = Literal[
    "timeout",
    "max_turns",
    "budget_exhausted",
    "provider_error",
    "stagnation",
    "malformed_output",
    "review_rejected",
    "crashed",
]
"""Why a run FAILED."""
FAILURE_CATEGORIES: tuple[FailureCategory, ...] = get_args(FailureCategory)
RunTrigger = Literal["first", "rework", "retry"]
RunStatus = Literal["running", "submitted", "failed", "cancelled"]
SandboxMode = Literal["bubblewrap", "none"]
CallPurpose = Literal["agent", "review"]
CallState = Literal["pending", "answered", "lost"]
ChangeKind = Literal["created", "modified", "deleted"]
"""What a run did to a file."""

# Money in JSON is a number, like the task budget; None stays null.
Usd = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


@dataclass(frozen=True)
class TraceContext:
    """Where a task execution's spans hang: its trace and its `taskline.task` span."""

    trace_id: str
    """The trace, 32 hex digits."""
    span_id: str
    """The task execution's span, 16 hex digits."""


class Run(Record):
    """One execution attempt of a task by its agent."""

    id: str = Field(default_factory=new_id)
    """Time-sortable unique id."""
    task_id: str
    """The task being executed."""
    number: int = Field(ge=1)
    """1 for the first run of the task, then 2, 3 … for each rework or retry."""
    trigger: RunTrigger
    """Why the run exists: the `first` one, a `rework` after review, a `retry` after FAILED."""
    agent: str
    """Name of the agent executing it."""
    model: str
    """Model reference the agent used."""
    feedback: str = ""
    """Review feedback this run was asked to address (rework only)."""
    status: RunStatus = "running"
    """`running`, then `submitted` (work handed in), `failed`, or `cancelled` (someone
    cancelled, blocked or failed the task while it ran)."""
    summary: str | None = None
    """The agent's completion summary, from `submit_work`."""
    failure_category: FailureCategory | None = None
    """Why the run failed, when it did."""
    failure_message: str | None = None
    """The failure in words."""
    started_at: UtcDatetime = Field(default_factory=utcnow)
    """When the run started."""
    ended_at: UtcDatetime | None = None
    """When the run ended; None while it runs."""
    sandbox: SandboxMode | None = None
    """How its commands and checks were confined: `bubblewrap`, or `none` when the
    config turned the sandbox off; None for runs recorded before taskline said."""
    trace_id: str | None = None
    """The OpenTelemetry trace of the task execution the run belongs to (32 hex digits);
    None when no traces were recorded. A run resumed after a crash joins this trace."""
    trace_span_id: str | None = None
    """The span of that task execution (16 hex digits): a resumed run's spans hang on it."""


class Turn(Record):
    """One LLM call of a run and what the model answered."""

    run_id: str
    """The run it belongs to."""
    number: int = Field(ge=1)
    """1, 2, 3 … within the run, with no gaps."""
    text: str = ""
    """What the model said besides tool calls."""
    finish_reason: str
    """Why the model stopped: `stop`, `tool_calls`, `length` …"""
    started_at: UtcDatetime
    """When the call started."""
    ended_at: UtcDatetime
    """When the call's tools had all finished."""


class ToolCallRecord(Record):
    """One tool call the model asked for, and its result."""

    run_id: str
    """The run it belongs to."""
    turn: int = Field(ge=1)
    """The turn that asked for it."""
    index: int = Field(ge=0)
    """Position among the turn's tool calls."""
    call_id: str
    """The provider's id for the call."""
    name: str
    """Tool name."""
    arguments: dict[str, Any]
    """Arguments as the model gave them."""
    output: str
    """The result (bounded), or the error message."""
    is_error: bool
    """Whether the tool failed (the model was told)."""
    duration_ms: float = Field(ge=0)
    """How long the tool ran."""
    submission: str | None = None
    """The completion summary a successful `submit_work` handed in, else None."""
    malformed: bool = False
    """Whether the call itself was wrong (unknown tool, unreadable or invalid arguments)."""


class CostRecord(Record):
    """One LLM call that may have been billed: written as its intent before it is sent
    (`pending`), completed with the answer's figures (`answered`), or found without an
    answer after a crash (`lost`: it may have been billed, and was sent again)."""

    id: str = Field(default_factory=new_id)
    """Time-sortable unique id."""
    task_id: str
    """The task the call was made for."""
    run_id: str
    """The run the call was made in."""
    purpose: CallPurpose = "agent"
    """`agent` for the executing agent's calls, `review` for a reviewer agent's."""
    turn: int = Field(ge=1)
    """Turn number within the run (or within the review)."""
    agent: str
    """The agent that made the call."""
    provider: str
    """Who served it: `openai`, `anthropic`, `local`, `scripted` or an endpoint name."""
    model: str
    """The model name as asked for."""
    input_tokens: int = Field(ge=0)
    """All input tokens, cache reads and writes included."""
    output_tokens: int = Field(ge=0)
    """All output tokens, reasoning included."""
    cache_read_tokens: int = Field(default=0, ge=0)
    """Input tokens read from the prompt cache."""
    cache_write_tokens: int = Field(default=0, ge=0)
    """Input tokens written to the prompt cache."""
    reasoning_tokens: int = Field(default=0, ge=0)
    """Output tokens spent on hidden reasoning."""
    cost_usd: Usd | None
    """What the call cost; None when the price is unknown."""
    price_source: str
    """`provider`, `genai-prices`, `config` or `unknown`."""
    latency_ms: float = Field(ge=0)
    """Wall-clock time of the call, retries included."""
    finish_reason: str
    """Why the model stopped, or `error` when the billed answer could not be read."""
    attempts: int = Field(default=1, ge=1)
    """Requests made for the call, the successful one included."""
    attempt_errors: tuple[str, ...] = ()
    """One line per failed attempt before the last one (429, 5xx, timeout …)."""
    error: str | None = None
    """Set when the call was billed but its answer was unusable."""
    response: dict[str, Any] | None = None
    """The answer as received, so a replayed step reuses it instead of paying again."""
    raw_usage: dict[str, Any] | None = None
    """The provider's usage object exactly as received, beside the normalized counts above;
    None when the answer had none (or was not JSON)."""
    created_at: UtcDatetime = Field(default_factory=utcnow)
    """When the record was written."""
    state: CallState = "answered"
    """`pending` while the call is in flight, `answered` once its answer is recorded,
    `lost` when the run stopped in between; a lost call's figures are those of the call
    that replaced it, with `price_source` `estimate`, or zero and unknown when none did."""


class Artifact(Record):
    """A file a run created, modified or deleted in the workspace."""

    task_id: str
    """The task the run belongs to."""
    run_id: str
    """The run that changed the file."""
    path: str
    """Path relative to the workspace, with `/` separators."""
    change: ChangeKind
    """`created`, `modified` or `deleted`."""
    size: int = Field(ge=0)
    """Size in bytes (before deletion, for a deleted file)."""
    sha256: str
    """SHA-256 of the content (before deletion, for a deleted file); the blob's key."""


class Review(Record):
    """One verdict on a run's work: from the checks, a reviewer agent or a person."""

    id: str = Field(default_factory=new_id)
    """Time-sortable unique id."""
    task_id: str
    """The task reviewed."""
    run_id: str
    """The run whose work was reviewed."""
    reviewer: str
    """`checks`, `agent:NAME`, `user:NAME` or `auto` (nothing to review against)."""
    approved: bool
    """The verdict."""
    feedback: str = ""
    """Why, in words; sent to the agent on rework."""
    details: dict[str, Any] = Field(default_factory=dict)
    """Check results or per-criterion verdicts."""
    at: UtcDatetime = Field(default_factory=utcnow)
    """When the verdict was stored."""
    duration_seconds: float | None = Field(default=None, ge=0)
    """Wall-clock time the checks or the reviewer agent took; None for a person's verdict."""


class TaskMetrics(Record):
    """A task's overhead over all of its runs, review calls included."""

    task_id: str
    """The task."""
    turns_per_task: int = Field(ge=0)
    """LLM calls of the executing agent, over all runs."""
    tokens_per_task: int = Field(ge=0)
    """Input plus output tokens of every call, review calls included."""
    input_tokens: int = Field(ge=0)
    """Input tokens of every call."""
    output_tokens: int = Field(ge=0)
    """Output tokens of every call."""
    cost_per_task: Usd | None
    """Sum of the task's cost records; None when any call is unpriced."""
    unpriced_calls: int = Field(ge=0)
    """Calls whose price is unknown: answered without a price, or lost with no estimate."""
    duration_seconds: float = Field(ge=0)
    """Wall-clock time of the task's whole life: from its first run's start to its end,
    review and waiting for a person included."""
    tool_calls: int = Field(ge=0)
    """Tool calls over all runs."""
    runs: int = Field(ge=0)
    """Runs of the task."""
    retries: int = Field(default=0, ge=0)
    """Model requests repeated after a 429, 5xx, timeout or dropped connection."""
    updated_at: datetime = Field(default_factory=utcnow)
    """When the metrics were computed."""
    review_seconds: float = Field(default=0.0, ge=0)
    """Wall-clock time of the reviews: the checks and the reviewer agents."""
    agent_seconds: float = Field(default=0.0, ge=0)
    """Wall-clock time the executing agent worked: every run from its start to its end."""
    lost_calls: int = Field(default=0, ge=0)
    """Calls sent whose answer was lost when a process stopped: each may have been billed
    and was sent again; their estimated cost is in `cost_per_task`."""


@dataclass(frozen=True)
class TaskDetail:
    """Everything a task's runs left behind, for `task show`."""

    runs: list[Run]
    turns: dict[str, list[Turn]]
    tool_calls: dict[str, list[ToolCallRecord]]
    artifacts: list[Artifact]
    reviews: list[Review]
    metrics: TaskMetrics | None


WorkerStatus = Literal["running", "stopped", "adopted"]


class Worker(Record):
    """A `taskline worker` process as its heartbeats left it in the `workers` table."""

    id: str
    """The worker's name (`--id`, or NAME-1 … NAME-N under `--processes`)."""
    status: WorkerStatus
    """`running`; `stopped` when it left cleanly; `adopted` when another worker took over
    its runs after it went silent."""
    started_at: UtcDatetime
    """When it first beat."""
    last_seen_at: UtcDatetime
    """Its last heartbeat."""
    adopted_by: str | None = None
    """The worker that took over its runs, when `adopted`."""
