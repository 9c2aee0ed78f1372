"""Models kept between runs: one client per model reference and event loop, not one per run.

Building an SDK client costs tens of milliseconds (it loads the CA bundle) and
holds its own connection pool, so a client per run is slow and, with many runs
in flight, heavy. A client's connections belong to the event loop that opened
them, hence one per loop; the pool forgets a loop once it is gone.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

from taskline.protocols import Model

ModelFactory = Callable[[str], Model]


def _shareable(model: Model) -> bool:
    # The HTTP adapters say so (`shareable = True`): they hold nothing of a run, only a
    # connection pool. Others (a scripted model's script, say) must start afresh every
    # run. An attribute, not isinstance: importing the SDKs here would double the
    # memory of every taskline process that never talks to them.
    return bool(getattr(model, "shareable", False))


class ModelPool:
    """Hands out models by reference; with `keep`, shareable ones stay open for the next run."""

    def __init__(self, *, keep: bool = True) -> None:
        self.keep = keep
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Model]] = (
            weakref.WeakKeyDictionary()
        )

    def acquire(self, reference: str, create: ModelFactory) -> Model:
        """The model for `reference` on the running loop, made by `create` if none is kept."""
        kept = self._by_loop.setdefault(asyncio.get_running_loop(), {})
        model = kept.get(reference)
        if model is None:
            model = create(reference)
            if self.keep and _shareable(model):
                kept[reference] = model
        return model

    async def release(self, model: Model) -> None:
        """Done with `model` for now: a kept one stays open, any other is closed."""
        kept = self._by_loop.get(asyncio.get_running_loop(), {})
        if model not in kept.values():
            await model.aclose()

    async def aclose(self) -> None:
        """Close the models kept for the running loop (call it before the loop ends)."""
        kept = self._by_loop.pop(asyncio.get_running_loop(), {})
        for model in kept.values():
            await model.aclose()
