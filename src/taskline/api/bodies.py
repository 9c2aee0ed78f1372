"""What the HTTP API accepts: request bodies, with the names of `Taskline`'s arguments.

The library checks every value as it does for the CLI; these models only keep
out what could never be stored (NUL characters, unpaired surrogates, numbers
no database column holds, infinities), so bad input is a 422 and never a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from taskline.lifecycle import Status
from taskline.models import Priority

INT32_MAX = 2**31 - 1
"""The largest count an INTEGER column holds on PostgreSQL."""
MAX_USD = Decimal(10**9)
"""Money columns keep 12 digits before the point; no budget comes near this."""


def storable(text: str) -> bool:
    """Whether a database can store `text`: no NUL character, valid UTF-8."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate, e.g. from "\ud800" in JSON
        return False
    return True


def _storable_text(value: str) -> str:
    if not storable(value):
        raise ValueError("must not contain NUL characters or unpaired surrogates")
    return value


def _in_range(value: datetime) -> datetime:
    if value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("is out of range once converted to UTC") from None
    return value


Text = Annotated[str, AfterValidator(_storable_text)]
Usd = Annotated[Decimal, Field(gt=0, le=MAX_USD, allow_inf_nan=False)]
# Strict: JSON `true` is not a number of seconds or turns.
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]
Count = Annotated[int, Field(ge=1, le=INT32_MAX, strict=True)]


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class AgentBody(_Body):
    """A new agent."""

    name: Text
    """Unique name: 1-64 letters, digits, `_`, `.` or `-`."""
    model: Text | None = None
    """Model reference, e.g. `openai:gpt-4o-mini`; absent means `[defaults] model`."""
    role: Text = ""
    """A short description of the agent's job."""
    instructions: Text = ""
    """Personality and way of working."""
    skills: list[Text] = []
    """What the agent is good at."""
    tools: list[Text] | None = None
    """Built-in tools it may call; absent means all of them."""
    mcp: list[Text] = []
    """MCP servers of taskline.toml it may use, each `SERVER` or `SERVER:TOOL,TOOL`."""
    budget_usd: Usd | None = None
    """Default spending limit per task in USD."""
    budget_tokens: Count | None = None
    """Default token limit per task (input plus output)."""


class TaskBody(_Body):
    """A new task; limits not given come from the config defaults."""

    title: Text
    """One line saying what is to be done."""
    description: Text = ""
    """The full context an agent needs."""
    type: Text = "general"
    """Kind of work (`feature`, `bugfix`, `docs` …)."""
    priority: Priority = "normal"
    """How urgent the task is."""
    criteria: list[Text] = []
    """Acceptance criteria, one statement each."""
    checks: list[Text] = []
    """Shell commands that must exit 0 in the workspace at review."""
    expected_artifacts: list[Text] = []
    """Files or outputs the work is expected to produce."""
    depends_on: list[Text] = []
    """Ids of tasks that must be COMPLETED first."""
    budget_usd: Usd | None = None
    """Spending limit in USD."""
    budget_tokens: Count | None = None
    """Token limit (input plus output), for any model, priced or not."""
    max_turns: Count | None = None
    """Most LLM calls per run."""
    timeout_seconds: Seconds | None = None
    """Wall-clock limit per run."""
    check_timeout_seconds: Seconds | None = None
    """Wall-clock limit of each check; absent means the config's default."""
    ignore: list[Text] = []
    """Paths or gitignore patterns whose changes are not artifacts."""
    deadline: Annotated[datetime, AfterValidator(_in_range)] | None = None
    """Due date, ISO 8601 with a timezone."""
    reviewers: list[Text] = []
    """Reviewer agents."""
    human_review: Annotated[bool, Field(strict=True)] = False
    """Whether a person must approve the work before COMPLETED."""
    max_rework: Annotated[int, Field(ge=0, le=INT32_MAX, strict=True)] = 2
    """Rejected reviews before FAILED."""
    workspace: Text | None = None
    """Directory the agent works in; absent means one under `$TASKLINE_HOME/workspaces`."""
    # `copy` in JSON; a field of that name would shadow BaseModel.copy
    copy_: Annotated[bool, Field(alias="copy", strict=True)] = False
    """Whether the agent works in a copy of `workspace` (an existing directory), written
    back by `taskline artifacts ID --apply`."""


class AssignBody(_Body):
    """Who gets the task."""

    agent: Text
    """The agent's name."""
    reason: Text = ""
    """Why, kept in the transition log."""


class MoveBody(_Body):
    """The operator's raw move, as the lifecycle table allows."""

    status: Status
    """Target status."""
    reason: Text = ""
    """Why, kept in the transition log."""
    assignee: Text | None = None
    """With ASSIGNED: the agent (default: the current one)."""


class ReasonBody(_Body):
    """Why a task is blocked, unblocked or cancelled."""

    reason: Text = ""
    """Why, kept in the transition log."""


class RunBody(_Body):
    """How to run a task."""

    timeout_seconds: Seconds | None = None
    """Wall-clock limit of the run; absent means the task's own."""


class ReviewBody(_Body):
    """A person's verdict."""

    feedback: Text = ""
    """Why; on a rejection it is sent to the agent for the rework."""
