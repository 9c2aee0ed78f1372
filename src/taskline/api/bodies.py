"""What the HTTP API accepts: request bodies, with the names of `Taskline`'s arguments.

A new task's body is `taskline.models.NewTask`, the one list of a task's creatable
fields. The library checks every value as it does for the CLI; these models only
keep out what could never be stored (NUL characters, unpaired surrogates, numbers
no database column holds, infinities), so bad input is a 422 and never a 500.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from taskline.lifecycle import Status
from taskline.models import Count, Seconds, StorableText, StorableUsd


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class AgentBody(_Body):
    """A new agent."""

    name: StorableText
    """Unique name: 1-64 letters, digits, `_`, `.` or `-`."""
    model: StorableText | None = None
    """Model reference, e.g. `openai:gpt-4o-mini`; absent means `[defaults] model`."""
    role: StorableText = ""
    """A short description of the agent's job."""
    instructions: StorableText = ""
    """Personality and way of working."""
    skills: list[StorableText] = []
    """What the agent is good at."""
    tools: list[StorableText] | None = None
    """Built-in tools it may call; absent means all of them."""
    mcp: list[StorableText] = []
    """MCP servers of taskline.toml it may use, each `SERVER` or `SERVER:TOOL,TOOL`."""
    budget_usd: StorableUsd | None = None
    """Default spending limit per task in USD."""
    budget_tokens: Count | None = None
    """Default token limit per task (input plus output)."""


class AssignBody(_Body):
    """Who gets the task."""

    agent: StorableText
    """The agent's name."""
    reason: StorableText = ""
    """Why, kept in the transition log."""


class MoveBody(_Body):
    """The operator's raw move, as the lifecycle table allows."""

    status: Status
    """Target status."""
    reason: StorableText = ""
    """Why, kept in the transition log."""
    assignee: StorableText | None = None
    """With ASSIGNED: the agent (default: the current one)."""


class ReasonBody(_Body):
    """Why a task is blocked, unblocked or cancelled."""

    reason: StorableText = ""
    """Why, kept in the transition log."""


class RunBody(_Body):
    """How to run a task."""

    timeout_seconds: Seconds | None = None
    """Wall-clock limit of the run; absent means the task's own."""


class ReviewBody(_Body):
    """A person's verdict."""

    feedback: StorableText = ""
    """Why; on a rejection it is sent to the agent for the rework."""
