"""What the API tests share: scripted answers, a model that takes its time, and SSE parsing."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from taskline.llm.scripted import ScriptedModel, ScriptedResponse
from taskline.llm.types import Message, ModelResponse, ToolDefinition, Usage

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
USAGE = Usage(input_tokens=100, output_tokens=20)


def call(
    name: str, *, usage: Usage = USAGE, cost_usd: str = "0.001", **arguments: Any
) -> ScriptedResponse:
    """An answer calling one tool, billed 120 tokens and $0.001 unless told otherwise."""
    return ScriptedResponse.model_validate(
        {"tool_calls": [{"name": name, "arguments": arguments}], "usage": usage,
         "cost_usd": cost_usd}
    )  # fmt: skip


def greeting(
    text: str = "hello world\n", summary: str = "Wrote hello.txt."
) -> list[ScriptedResponse]:
    """Write hello.txt, then hand the work in."""
    return [
        call("write_file", path="hello.txt", content=text),
        call("submit_work", summary=summary),
    ]


class PacedModel:
    """A scripted model that waits before each answer, as a real one does: runs last long
    enough for a live view to see them."""

    provider = "scripted"

    def __init__(
        self,
        responses: Sequence[ScriptedResponse],
        delay_seconds: float,
        last_answer_after: threading.Event | None = None,
    ) -> None:
        self.inner = ScriptedModel(responses)
        self.model = self.inner.model
        self.delay_seconds = delay_seconds
        self.left = len(responses)
        self.last_answer_after = last_answer_after

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition] = ()
    ) -> ModelResponse:
        await asyncio.sleep(self.delay_seconds)
        self.left -= 1
        if self.left == 0 and self.last_answer_after is not None:
            # Held until the test has seen the run in progress; a minute is only a ceiling.
            opened = await asyncio.to_thread(self.last_answer_after.wait, 60)
            assert opened, "the test never let the last answer go"
        return await self.inner.complete(messages, tools)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass(frozen=True)
class Event:
    """One server-sent event."""

    kind: str
    data: Any


def parse_events(lines: Iterable[str]) -> list[Event]:
    """The events of a `text/event-stream` body, comments and keep-alives skipped."""
    events: list[Event] = []
    kind, data = "message", list[str]()
    for line in lines:
        if line == "":
            if data:
                events.append(Event(kind, json.loads("\n".join(data))))
            kind, data = "message", list[str]()
        elif line.startswith("event:"):
            kind = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").removeprefix(" "))
    return events
