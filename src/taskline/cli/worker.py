"""`taskline worker`: take queued runs from the shared database and execute them."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from taskline.cli.common import _taskline, app
from taskline.progress import LiveProgress

# durable.DEFAULT_HEARTBEAT_TIMEOUT_SECONDS, repeated so that every other command starts
# without importing DBOS (about 0.2 s); a test checks that the two agree.
DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 30.0


@app.command("worker")
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Runs executed at the same time.")] = 4,
    worker_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            help="This worker's name; a restarted worker with the same name resumes its runs.",
        ),
    ] = None,
    heartbeat_timeout: Annotated[
        float,
        typer.Option(help="Seconds of silence after which another worker adopts a worker's runs."),
    ] = DEFAULT_HEARTBEAT_TIMEOUT_SECONDS,
) -> None:
    """Execute runs queued with `taskline task run --detach`, until stopped.

    Point every worker at one PostgreSQL with TASKLINE_DATABASE_URL to scale out.
    SIGTERM finishes the steps in flight and exits; the runs resume later.
    """
    from taskline import durable

    name = worker_id or socket.gethostname()
    with _taskline() as tl, LiveProgress() as progress:
        typer.echo(
            f"worker {name}: taking runs from queue {durable.RUN_QUEUE}"
            f" ({concurrency} at a time); Ctrl-C or SIGTERM to stop",
            err=True,
        )
        durable.serve(
            tl,
            worker_id=name,
            concurrency=concurrency,
            heartbeat_timeout_seconds=heartbeat_timeout,
            on_event=progress,
        )
