"""What goes into a model and what comes out of it, whatever the provider.

Messages are a discriminated union tagged by `kind`; every record is frozen.
Token counts follow one convention for every provider: `input_tokens` counts
all input, cache reads and writes included, and `output_tokens` counts all
output, reasoning included. The cache and reasoning counts are parts of those
totals, never additions to them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FinishReason = Literal["stop", "tool_calls", "length", "content_filter", "other"]
PriceSource = Literal["provider", "genai-prices", "config", "unknown"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class ToolCall(_Frozen):
    """A tool the model asked to run, with its arguments."""

    id: str
    """The provider's id for the call; the tool result refers to it."""
    name: str
    """Name of the tool, one of the definitions offered."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """Arguments, decoded from the JSON the model wrote; empty when they could not be read."""
    arguments_error: str | None = None
    """Why the arguments could not be read (not JSON, not an object); None when they could.
    Such a call is not run: the model gets this as the call's error result."""
    raw_arguments: str | None = None
    """The arguments exactly as the model wrote them, kept only when they could not be read."""


def finish_with_calls(finish: FinishReason, has_tool_calls: bool) -> FinishReason:
    """The finish reason, read as `tool_calls` when the answer has tool calls and the
    provider said nothing better: `stop`, empty or unknown (Ollama and older vLLM say
    `stop` after tool calls; Snowflake Cortex sends `""`)."""
    return "tool_calls" if has_tool_calls and finish in ("stop", "other") else finish


class ToolDefinition(_Frozen):
    """A tool offered to the model."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    """Name the model calls it by."""
    description: str = ""
    """What the tool does and when to use it, written for the model."""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    """JSON Schema of the arguments: an object schema."""


class SystemMessage(_Frozen):
    """Instructions that frame the whole conversation."""

    kind: Literal["system"] = "system"
    """Tag of the message kind."""
    content: str
    """The instructions."""


class UserMessage(_Frozen):
    """What the person (or the program acting for one) says."""

    kind: Literal["user"] = "user"
    """Tag of the message kind."""
    content: str
    """The text."""


class AssistantMessage(_Frozen):
    """An earlier answer of the model: text, tool calls or both."""

    kind: Literal["assistant"] = "assistant"
    """Tag of the message kind."""
    content: str = ""
    """The text part of the answer; empty when the model only called tools."""
    tool_calls: tuple[ToolCall, ...] = ()
    """Tools the model asked to run in that answer."""


class ToolResultMessage(_Frozen):
    """The outcome of one tool call, sent back to the model."""

    kind: Literal["tool_result"] = "tool_result"
    """Tag of the message kind."""
    tool_call_id: str
    """Id of the `ToolCall` this answers."""
    name: str
    """Name of the tool that ran."""
    content: str
    """The result, or the error message when `is_error`."""
    is_error: bool = False
    """Whether the tool failed; the model sees the error and may try again."""


Message = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolResultMessage,
    Field(discriminator="kind"),
]


class Usage(_Frozen):
    """Tokens one call consumed, as the provider billed them."""

    input_tokens: int = Field(default=0, ge=0)
    """All input tokens, cache reads and cache writes included."""
    output_tokens: int = Field(default=0, ge=0)
    """All output tokens, reasoning included."""
    cache_read_tokens: int = Field(default=0, ge=0)
    """Input tokens served from the provider's prompt cache (part of `input_tokens`)."""
    cache_write_tokens: int = Field(default=0, ge=0)
    """Input tokens written to the provider's prompt cache (part of `input_tokens`)."""
    reasoning_tokens: int = Field(default=0, ge=0)
    """Output tokens spent on hidden reasoning (part of `output_tokens`)."""

    @classmethod
    def reported(
        cls,
        *,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
    ) -> Usage:
        """Usage from a provider's counts, with overlapping parts fitted into the totals.

        Providers do not always keep the parts within the totals: OpenRouter has
        reported the same tokens as both read from and written to the cache, with
        fewer input tokens in all than the two together. The totals are what is
        billed, so they stay; cache reads come first (a token read from the cache
        was not also written), then writes get what is left, and reasoning is cut
        to the output. The provider's own numbers are kept apart as raw usage.
        """
        cache_read = min(cache_read_tokens, input_tokens)
        return cls(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cache_read_tokens=cache_read,
            cache_write_tokens=min(cache_write_tokens, input_tokens - cache_read),
            reasoning_tokens=min(reasoning_tokens, output_tokens),
        )

    @model_validator(mode="after")
    def _parts_within_totals(self) -> Usage:
        if self.cache_read_tokens + self.cache_write_tokens > self.input_tokens:
            raise ValueError("cache read and write tokens are part of input_tokens, not more")
        if self.reasoning_tokens > self.output_tokens:
            raise ValueError("reasoning tokens are part of output_tokens, not more")
        return self

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


class ModelResponse(_Frozen):
    """One answer of a model, with what it cost and how hard it was to get."""

    text: str = ""
    """The text of the answer; empty when the model only called tools."""
    tool_calls: tuple[ToolCall, ...] = ()
    """Tools the model asked to run, in order."""
    finish_reason: FinishReason
    """Why the model stopped: `stop`, `tool_calls`, `length`, `content_filter` or `other`."""
    provider_finish_reason: str | None = None
    """The finish reason in the provider's own words, e.g. `end_turn`."""
    usage: Usage
    """Tokens billed for the call."""
    raw_usage: dict[str, Any] | None = None
    """The provider's usage object exactly as received; None when it sent none."""
    provider: str
    """Who served it: `openai`, `anthropic`, `local`, `scripted` or an endpoint name."""
    model: str
    """The model as it was asked for."""
    response_model: str | None = None
    """The model that answered, as the provider named it (e.g. a dated version); None
    when it did not say."""
    response_id: str | None = None
    """The provider's id of the answer; None when it gave none."""
    cost_usd: Decimal | None
    """What the call cost; None when the price is unknown (unknown is not free)."""
    price_source: PriceSource
    """Where `cost_usd` came from: `provider`, `genai-prices`, `config` or `unknown`."""
    latency_ms: float = Field(ge=0)
    """Wall-clock time of the call, retries and their waits included."""
    attempts: int = Field(default=1, ge=1)
    """HTTP requests (or local runs) made, the successful one included."""
    attempt_errors: tuple[str, ...] = ()
    """One line per failed attempt before the successful one."""

    def as_message(self) -> AssistantMessage:
        """The answer as a message, to send back with the next call."""
        return AssistantMessage(content=self.text, tool_calls=self.tool_calls)
