"""`taskline worker`: take queued runs from the shared database and execute them."""

from __future__ import annotations

import os
import socket
import sys
from typing import Annotated

import typer

from taskline import supervisor
from taskline.cli.common import _taskline, app
from taskline.progress import LiveProgress

# durable.DEFAULT_HEARTBEAT_TIMEOUT_SECONDS and durable.RUN_QUEUE, repeated so that every
# other command, and the supervisor of `--processes`, starts without importing DBOS (about
# 0.2 s); a test checks that they agree.
DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 30.0
RUN_QUEUE = "taskline-runs"


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
    processes: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes to start on this machine, named NAME-1 … NAME-N,"
            " each with --concurrency runs; one that dies is started again.",
        ),
    ] = 1,
) -> None:
    """Execute runs queued with `taskline task run --detach`, until stopped.

    Point every worker at one PostgreSQL with TASKLINE_DATABASE_URL to scale out.
    SIGTERM finishes the steps in flight and exits; the runs resume later.
    """
    name = worker_id or socket.gethostname()
    if processes > 1:
        _supervise(name, processes, concurrency, heartbeat_timeout)
        return
    with _taskline() as tl, LiveProgress() as progress:
        typer.echo(
            f"worker {name}: taking runs from queue {RUN_QUEUE}"
            f" ({concurrency} at a time); Ctrl-C or SIGTERM to stop",
            err=True,
        )
        tl.serve_worker(
            name,
            concurrency=concurrency,
            heartbeat_timeout_seconds=heartbeat_timeout,
            on_event=progress,
        )


def _supervise(name: str, processes: int, concurrency: int, heartbeat_timeout: float) -> None:
    """Be the parent of `processes` workers, each a `taskline worker` of its own."""
    with _taskline():
        pass  # a wrong database or config is one error here, not one per child and restart
    typer.echo(
        f"worker {name}: {processes} processes taking runs from queue {RUN_QUEUE}"
        f" ({concurrency} at a time each); Ctrl-C or SIGTERM to stop",
        err=True,
    )
    command = [sys.executable, "-m", "taskline", "worker"]
    options = ["--concurrency", str(concurrency), "--heartbeat-timeout", str(heartbeat_timeout)]
    commands = {
        child: [*command, "--id", child, *options, "--processes", "1"]
        for child in supervisor.child_ids(name, processes)
    }
    # Each child's progress is a line per turn, not a status line redrawn in place: N
    # processes redrawing one terminal line would garble it.
    env = {**os.environ, "TTY_COMPATIBLE": "0"}
    supervisor.supervise(commands, report=lambda line: typer.echo(line, err=True), env=env)
