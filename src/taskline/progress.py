"""Live progress of a run in the terminal: turn, tool, tokens, cost, elapsed time.

On a terminal it is one status line that updates in place; otherwise (a pipe,
CI) it is one line per finished turn. Either way it goes to stderr, so stdout
keeps only what scripts read.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.status import Status
from rich.text import Text

from taskline.engine.events import ProgressEvent
from taskline.render import shown, usd


def describe(event: ProgressEvent) -> str:
    """One line saying where the run is."""
    doing = {
        "model_call": "calling the model",
        "tool_call": f"running {event.detail}",
        "turn_finished": "turn done",
        "review": f"review by {event.detail}",
    }.get(event.kind, event.detail or event.kind)
    return (
        f"run {event.run_number} · turn {event.turn} · {doing} · {event.tokens:,} tokens"
        f" · {usd(event.cost_usd)} · {event.elapsed_seconds:.1f}s"
    )


class LiveProgress:
    """An `OnEvent` that shows progress on stderr while a `with` block runs."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self._status: Status | None = None

    def __enter__(self) -> LiveProgress:
        if self.console.is_terminal:
            self._status = self.console.status("starting")
            self._status.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()

    def __call__(self, event: ProgressEvent) -> None:
        line = Text(shown(describe(event)))  # tool and reviewer names are not markup
        if self._status is not None:
            self._status.update(line)
        elif event.kind in ("turn_finished", "review"):
            self.console.print(line, soft_wrap=True)
