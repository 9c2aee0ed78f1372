"""The FastAPI application: the API under `/api`, the dashboard at `/`, `/health` for probes,
`/metrics` for Prometheus.

Every `/api` endpoint needs the bearer token, checked before the request's body
is read, and so does `/metrics` unless it was made public; `/health`, the OpenAPI
schema and the dashboard's static files (which hold no data) do not. There is no
interactive docs page: Swagger UI and ReDoc load their scripts from a CDN, which the
dashboard's origin must never run.
Bodies are limited and every response carries security headers (see `guard`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from taskline.api import (
    agents,
    errors,
    lifecycle,
    metrics,
    prometheus,
    records,
    stream,
    tasks,
    work,
)
from taskline.api.auth import require_token
from taskline.api.background import BackgroundRuns
from taskline.api.guard import DEFAULT_MAX_BODY_BYTES, Guard
from taskline.api.views import Health
from taskline.service import Taskline
from taskline.version import __version__

STATIC = Path(__file__).parent / "static"

DESCRIPTION = """\
Agents, tasks and their lifecycle, runs with their turns and tool calls, cost
records, artifacts and metrics. Send the API token as `Authorization: Bearer
TOKEN` (it is `$TASKLINE_API_TOKEN`, or the one in `$TASKLINE_HOME/api-token`).
Errors are `{"detail": "<one line>"}`: 404 unknown id, 409 illegal move or
conflict, 422 invalid value."""


class GuardedApp(FastAPI):
    """FastAPI with `Guard` outside everything, its own error pages included."""

    def __init__(self, *, token: str, max_body_bytes: int, **settings: Any) -> None:
        super().__init__(**settings)
        self.guard_token = token
        self.max_body_bytes = max_body_bytes

    def build_middleware_stack(self) -> Any:
        return Guard(
            super().build_middleware_stack(),
            token=self.guard_token,
            max_body_bytes=self.max_body_bytes,
        )


def create_app(
    tl: Taskline,
    *,
    token: str,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    metrics_public: bool = False,
) -> FastAPI:
    """The app serving `tl`'s store, guarded by `token`; bodies over `max_body_bytes` get 413.
    Prometheus's `/metrics` needs the token too, unless `metrics_public`.

    Runs started through it execute in the server's event loop. When `tl.durable`
    they are DBOS workflows, as with `taskline task run`: DBOS is launched when
    the app starts (resuming the runs a crashed server left unfinished) and a run
    interrupted by a crash or a stop resumes from its last finished step at the
    next start. Whoever serves the app stops DBOS once the server has stopped, as
    `taskline serve` does: `tl.stop_durable()`. Otherwise the engine runs
    them directly, and stopping the server leaves their tasks IN_PROGRESS.
    """
    runs = BackgroundRuns()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runs.attach(asyncio.get_running_loop())
        if tl.durable:
            # From this loop, so DBOS runs the workflows it resumes here, and with the one
            # sink that files every run's events under its task.
            tl.start_durable(on_event=runs.on_event)
        yield
        # A durable run's workflow goes on until the loop ends and cancels it. DBOS must
        # outlive it (a step run once DBOS is gone would not be recorded), so it is stopped
        # after the server, not here.
        await runs.aclose(durable=tl.durable)
        if not tl.durable:  # the runs are cancelled: their model clients can go
            await tl.aclose_models()
        if tl.durable:
            # Those cancellations are the plan, not news: DBOS would log each one as a
            # warning holding the step's whole arguments (every message of the run).
            logging.getLogger("dbos").setLevel(logging.ERROR)

    app = GuardedApp(
        token=token,
        max_body_bytes=max_body_bytes,
        title="taskline",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Both docs pages load their scripts from a CDN: left out (see the module's docstring).
        docs_url=None,
        swagger_ui_oauth2_redirect_url=None,
        redoc_url=None,
    )
    app.state.taskline = tl
    app.state.token = token
    app.state.runs = runs
    errors.install(app)

    guarded = APIRouter(dependencies=[Depends(require_token)], responses=errors.COMMON)
    for module in (agents, tasks, work, records, metrics, lifecycle):
        guarded.include_router(module.router)
    app.include_router(guarded)
    app.include_router(stream.router)
    app.include_router(prometheus.router(public=metrics_public))

    @app.get("/health", tags=["server"])
    def health() -> Health:
        """Whether the server answers; needs no token."""
        return Health(status="ok")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
