"""What a tool gives back: a `ToolResult`, or a `ToolFailure` raised to become one.

A leaf module: `taskline.protocols.Tool` names the result, and the workspace
raises the failure, so neither may import the tools that use them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ToolFailure(Exception):
    """A problem a tool reports to the model as an error result; its message is the result."""


class ToolResult(BaseModel):
    """The outcome of one tool call, as the model will read it."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    output: str
    """What the tool produced, or the error message; long outputs are cut with a note."""
    is_error: bool = False
    """Whether the tool failed; the model sees the message and may try again."""
    duration_ms: float = Field(ge=0)
    """Wall-clock time the call took."""
    submission: str | None = None
    """The completion summary, set only by a successful `submit_work`."""
    malformed: bool = False
    """Whether the call itself was wrong (unknown tool, arguments unreadable or invalid)
    rather than the tool failing; turns of nothing but such calls end a run when they
    keep coming."""
