"""A model that plays back given responses, for tests and replays.

The script is a list of responses, given in Python or read from a JSON file
(`scripted:PATH`): either a list or `{"responses": [...]}`, each item like

    {"text": "", "tool_calls": [{"name": "submit_work", "arguments": {"summary": "done"}}],
     "usage": {"input_tokens": 120, "output_tokens": 12}, "cost_usd": "0.0004"}

A response with `error` set makes the call fail with `ProviderError` instead;
`delay_seconds` makes the model really wait before answering. A file may also be
`{"responses": [...], "by_turn": true, "ledger": "PATH"}`: `by_turn` picks the
answer by the number of earlier answers in the conversation (so a resumed run
gets the answer it is at), and `ledger` gets one line per answer served.
The model records every call it received (`calls`), so tests can check prompts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from taskline.errors import ModelReferenceError, ProviderError
from taskline.llm.types import (
    AssistantMessage,
    FinishReason,
    Message,
    ModelResponse,
    PriceSource,
    ToolCall,
    ToolDefinition,
    Usage,
)
from taskline.models import describe_validation_error

SCRIPT_KEYS = {"responses", "by_turn", "ledger"}


class ScriptedToolCall(BaseModel):
    """A tool call in a script; the id may be left out."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    name: str
    """Name of the tool to call."""
    arguments: dict[str, object] = Field(default_factory=dict)
    """Arguments of the call."""
    id: str | None = None
    """The call's id; None gives `call_<response>_<index>`."""


class ScriptedResponse(BaseModel):
    """One answer the scripted model gives, in order."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    text: str = ""
    """Text of the answer."""
    tool_calls: tuple[ScriptedToolCall, ...] = ()
    """Tools the answer calls."""
    finish_reason: FinishReason | None = None
    """None means `tool_calls` when there are tool calls, else `stop`."""
    usage: Usage = Usage()
    """Tokens to report for the call."""
    cost_usd: Decimal | None = None
    """Cost to report; None means the price is unknown."""
    price_source: PriceSource | None = None
    """Where the cost came from; None means `provider` with a cost, else `unknown`."""
    latency_ms: float = Field(default=0.0, ge=0)
    """Latency to report (the scripted model does not wait for it)."""
    delay_seconds: float = Field(default=0.0, ge=0)
    """Time to really wait before answering, e.g. to kill a process mid-call in tests."""
    wait_for_file: Path | None = None
    """A file to wait for before answering: the model first creates `<file>.waiting`, so a
    test knows the run is at this call, acts (breaks the database, say), then creates
    the file to let the run go on."""
    error: str | None = None
    """When set, the call fails with a `ProviderError` carrying this detail."""
    status_code: int | None = None
    """HTTP status reported with `error`."""


_SCRIPT = TypeAdapter(list[ScriptedResponse])


@dataclass(frozen=True)
class ScriptedCall:
    """What the scripted model was sent in one call."""

    messages: tuple[Message, ...]
    tools: tuple[ToolDefinition, ...]


class ScriptedModel:
    """Plays `responses` back one per call; running out is a `ProviderError`."""

    provider = "scripted"

    def __init__(
        self,
        responses: Sequence[ScriptedResponse],
        *,
        model: str = "script",
        by_turn: bool = False,
        ledger: Path | None = None,
    ) -> None:
        """`by_turn` picks the response by the number of earlier answers in the conversation
        instead of by call count, so a process that resumes a run mid-way gets the answer
        the run is at. `ledger` is a file the model appends one line to per answer it
        serves: what it "billed", for tests that check nothing is paid twice."""
        self.model = model
        self.responses = tuple(responses)
        self.by_turn = by_turn
        self.ledger = ledger
        self.calls: list[ScriptedCall] = []  # every call received, in order

    @classmethod
    def from_file(cls, path: Path) -> ScriptedModel:
        """The script in the JSON file at `path`."""
        ref = f"scripted:{path}"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ModelReferenceError(ref, f"cannot read the script: {exc.strerror}") from exc
        except ValueError as exc:
            raise ModelReferenceError(ref, f"the script is not JSON: {exc}") from exc
        options: dict[str, Any] = {}
        if isinstance(data, dict) and "responses" in data and set(data) <= SCRIPT_KEYS:
            options = {"by_turn": bool(data.get("by_turn", False))}
            if data.get("ledger"):
                options["ledger"] = Path(str(data["ledger"]))
            data = data["responses"]
        try:
            responses = _SCRIPT.validate_python(data)
        except ValidationError as exc:
            detail = describe_validation_error(exc)
            raise ModelReferenceError(ref, f"invalid script: {detail}") from exc
        return cls(responses, model=str(path), **options)

    @property
    def remaining(self) -> int:
        """Responses not played yet."""
        return len(self.responses) - len(self.calls)

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition] = ()
    ) -> ModelResponse:
        """The next response of the script."""
        number = len(self.calls)
        if self.by_turn:
            number = sum(1 for m in messages if isinstance(m, AssistantMessage))
        self.calls.append(ScriptedCall(tuple(messages), tuple(tools)))
        if number >= len(self.responses):
            raise ProviderError(
                provider=self.provider,
                model=self.model,
                detail=f"the script has no response left: all {len(self.responses)} were played",
            )
        scripted = self.responses[number]
        if scripted.error is not None:
            raise ProviderError(
                provider=self.provider,
                model=self.model,
                detail=scripted.error,
                status_code=scripted.status_code,
            )
        calls = tuple(
            ToolCall(id=call.id or f"call_{number}_{i}", name=call.name, arguments=call.arguments)
            for i, call in enumerate(scripted.tool_calls)
        )
        if scripted.wait_for_file is not None:
            await _gate(scripted.wait_for_file)
        if scripted.delay_seconds:
            await asyncio.sleep(scripted.delay_seconds)
        if self.ledger is not None:
            with self.ledger.open("a", encoding="utf-8") as ledger:
                ledger.write(f"{number} {scripted.cost_usd}\n")
        default_source: PriceSource = "unknown" if scripted.cost_usd is None else "provider"
        return ModelResponse(
            text=scripted.text,
            tool_calls=calls,
            finish_reason=scripted.finish_reason or ("tool_calls" if calls else "stop"),
            usage=scripted.usage,
            provider=self.provider,
            model=self.model,
            cost_usd=scripted.cost_usd,
            price_source=scripted.price_source or default_source,
            latency_ms=scripted.latency_ms,
        )

    async def aclose(self) -> None:
        """Nothing to close."""


GATE_POLL_SECONDS = 0.01


async def _gate(path: Path) -> None:
    """Say that a call waits at `path`, then wait until the file exists."""
    path.with_name(path.name + ".waiting").touch()
    while not path.exists():
        await asyncio.sleep(GATE_POLL_SECONDS)
