"""`taskline worker`: take queued runs from the shared database and execute them."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from taskline import supervisor
from taskline.cli.common import _taskline, app
from taskline.cli.serve import http_url, listen, server_token
from taskline.errors import InvalidValueError
from taskline.progress import LiveProgress
from taskline.service import Taskline

# durable.DEFAULT_HEARTBEAT_TIMEOUT_SECONDS and durable.RUN_QUEUE, repeated so that every
# other command, and the supervisor of `--processes`, starts without importing DBOS (about
# 0.2 s); a test checks that they agree.
DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 30.0
RUN_QUEUE = "taskline-runs"
# taskline.observability.scrape.MULTIPROCESS_ENV, repeated for the same reason.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
DEFAULT_METRICS_HOST = "127.0.0.1"


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
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Serve Prometheus's /metrics on this port (of all the --processes at once),"
            " behind the API token unless --metrics-public.",
        ),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Address /metrics listens on; 0.0.0.0 for every interface.")
    ] = DEFAULT_METRICS_HOST,
    metrics_public: Annotated[
        bool, typer.Option("--metrics-public", help="Serve /metrics without the API token.")
    ] = False,
) -> None:
    """Execute runs queued with `taskline task run --detach`, until stopped.

    Point every worker at one PostgreSQL with TASKLINE_DATABASE_URL to scale out.
    SIGTERM finishes the steps in flight and exits; the runs resume later.
    """
    name = worker_id or socket.gethostname()
    if metrics_port is None and (metrics_public or metrics_host != DEFAULT_METRICS_HOST):
        raise InvalidValueError("--metrics-host and --metrics-public need --metrics-port")
    metrics = None if metrics_port is None else Exporter(metrics_host, metrics_port, metrics_public)
    if processes > 1:
        _supervise(name, processes, concurrency, heartbeat_timeout, metrics)
        return
    with _taskline() as tl, ExitStack() as stack:
        if metrics is not None:
            stack.enter_context(metrics.serving(name, tl))
        progress = stack.enter_context(LiveProgress())
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


def _supervise(
    name: str,
    processes: int,
    concurrency: int,
    heartbeat_timeout: float,
    metrics: Exporter | None,
) -> None:
    """Be the parent of `processes` workers, each a `taskline worker` of its own; with
    `metrics`, answer Prometheus for all of them."""
    # Each child's progress is a line per turn, not a status line redrawn in place: N
    # processes redrawing one terminal line would garble it.
    env = {**os.environ, "TTY_COMPATIBLE": "0"}
    with _summed_metrics(name, metrics, env):
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
        supervisor.supervise(commands, report=lambda line: typer.echo(line, err=True), env=env)


@contextmanager
def _summed_metrics(name: str, metrics: Exporter | None, env: dict[str, str]) -> Iterator[None]:
    """With `metrics`, serve the sum of the counts of the children started with `env` (and
    the store's state) until the block ends; without, only check the store opens."""
    if metrics is None:
        with _taskline():
            pass  # a wrong database or config is one error here, not one per child and restart
        yield
        return
    # The children write their counts in files there (prometheus-client's multiprocess
    # mode) and each scrape adds them up: a child that died and started again under a new
    # pid leaves its files, so its counts stay in the sums.
    with _taskline() as tl, tempfile.TemporaryDirectory(prefix="taskline-metrics-") as counts:
        env[MULTIPROCESS_ENV] = counts
        with metrics.serving(name, tl, processes_dir=Path(counts)):
            yield


@dataclass(frozen=True)
class Exporter:
    """Where and how a worker answers Prometheus's scrapes."""

    host: str
    port: int
    public: bool

    @contextmanager
    def serving(
        self, name: str, tl: Taskline, *, processes_dir: Path | None = None
    ) -> Iterator[None]:
        """Answer `/metrics` until the block ends; a port in use is one line, at once."""
        from taskline.api.prometheus import serving_metrics

        with listen(self.host, self.port) as listening:
            token = "" if self.public else server_token(tl.home, err=True)
            url = http_url(self.host, self.port, "/metrics")
            typer.echo(f"worker {name}: Prometheus metrics on {url}", err=True)
            with serving_metrics(
                tl, listening, token=token, public=self.public, processes_dir=processes_dir
            ):
                yield
