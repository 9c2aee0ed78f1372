"""`/metrics`: what Prometheus scrapes, behind the API token unless made public.

`taskline serve` answers it beside the API (`router`). A worker, which serves no API,
answers it on a port of its own (`taskline worker --metrics-port`): `serving_metrics`
runs an app with that one route in a thread of the worker, with the same token check.
See `Taskline.prometheus_text` for what it holds.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Response

from taskline.api.auth import require_token
from taskline.api.deps import Tl
from taskline.service import Taskline

STOP_SECONDS = 5.0


def router(*, public: bool, processes_dir: Path | None = None) -> APIRouter:
    """The `/metrics` route, needing the token unless `public`; with `processes_dir`, it
    serves the counts of the worker processes writing there (see `Taskline.prometheus_text`).

    Left out of the OpenAPI schema: its answer is Prometheus's text format, not JSON."""
    guarded = APIRouter(dependencies=[] if public else [Depends(require_token)])

    @guarded.get("/metrics", include_in_schema=False)
    def scrape(tl: Tl) -> Response:
        body, content_type = tl.prometheus_text(processes_dir=processes_dir)
        return Response(body, media_type=content_type)

    return guarded


def metrics_app(
    tl: Taskline, *, token: str, public: bool, processes_dir: Path | None = None
) -> FastAPI:
    """An app answering `/metrics` only (every other path is 404), for a worker."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.taskline = tl
    app.state.token = token
    app.include_router(router(public=public, processes_dir=processes_dir))
    return app


@contextmanager
def serving_metrics(
    tl: Taskline,
    listening: socket.socket,
    *,
    token: str,
    public: bool,
    processes_dir: Path | None = None,
) -> Iterator[None]:
    """Answer `/metrics` on the `listening` socket, from a thread, until the block ends.

    The socket is bound by the caller, so a port in use is the caller's one clear error;
    a scrape that comes before the thread is ready waits in the socket's backlog."""
    import uvicorn  # imported here: a worker without --metrics-port never needs it

    app = metrics_app(tl, token=token, public=public, processes_dir=processes_dir)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listening]}, name="taskline-metrics", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(STOP_SECONDS)
