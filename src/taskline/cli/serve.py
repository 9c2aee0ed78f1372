"""`taskline serve`: the HTTP API and the dashboard."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from taskline.cli.common import _taskline, app
from taskline.config import DEFAULT_MAX_BODY_BYTES
from taskline.errors import InvalidValueError

DEFAULT_PORT = 8321
SHUTDOWN_GRACE_SECONDS = 3


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port` and listening; one clear error when it cannot be."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:  # a name lookup error's errno is negative, its strerror plain
        reason = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else exc.strerror
        raise InvalidValueError(f"cannot listen on {host}:{port}: {reason}") from exc


def http_url(host: str, port: int, path: str = "/") -> str:
    """`http://host:port/path`, an IPv6 address in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{path}"


def server_token(home: Path, *, err: bool = False) -> str:
    """The API token, once it is said where it is (on stderr if `err`): never the token
    itself, since what a server prints ends up in its logs."""
    from taskline.api import api_token
    from taskline.api.auth import TOKEN_ENV, TOKEN_FILE

    token, written_to = api_token(home)
    if written_to is not None:
        typer.echo(f"API token: generated and kept in {written_to}", err=err)
    elif os.environ.get(TOKEN_ENV, "").strip():
        typer.echo(f"API token: from ${TOKEN_ENV}", err=err)
    else:
        typer.echo(f"API token: kept in {home / TOKEN_FILE}", err=err)
    return token


@app.command("serve")
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; 0.0.0.0 for every interface.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = DEFAULT_PORT,
    max_body_bytes: Annotated[
        int, typer.Option(min=1, help="Largest request body accepted; larger ones get 413.")
    ] = DEFAULT_MAX_BODY_BYTES,
    metrics_public: Annotated[
        bool,
        typer.Option("--metrics-public", help="Serve Prometheus's /metrics without the API token."),
    ] = False,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json) and the dashboard at /.

    Every API call needs the token: $TASKLINE_API_TOKEN, or the one generated at
    the first start and kept in $TASKLINE_HOME/api-token (readable by you only);
    the server says where it is, never prints it. So does Prometheus's /metrics,
    unless --metrics-public. Runs started here are durable (unless
    TASKLINE_DURABLE=0): after a crash, the next start resumes them.
    """
    # Imported here: every other command starts faster without the web stack.
    import uvicorn

    from taskline.api import create_app

    # Bound first: a busy port or an unknown host is one line, before anything is printed.
    with _taskline() as tl, listen(host, port) as listening:
        token = server_token(tl.home)
        if not _is_loopback(host):
            typer.echo(
                f"note: listening on {host}: whoever reaches it with the token drives taskline",
                err=True,
            )
        typer.echo(f"taskline API and dashboard on {http_url(host, port)} (Ctrl-C to stop)")
        guard = "no token needed" if metrics_public else "with the API token"
        typer.echo(f"Prometheus metrics on {http_url(host, port)}metrics ({guard})")
        config = uvicorn.Config(
            create_app(
                tl, token=token, max_body_bytes=max_body_bytes, metrics_public=metrics_public
            ),
            log_level="warning",
            # Open event streams would otherwise hold the shutdown for up to their max_seconds.
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )
        server = uvicorn.Server(config)
        try:
            server.run(sockets=[listening])
        except KeyboardInterrupt:  # Ctrl-C is how a server is meant to stop (as uvicorn.run)
            pass
        finally:
            if tl.durable:
                # Only now: the server's event loop has ended and cancelled every run's
                # workflow unfinished; each resumes from its last recorded step next time.
                tl.stop_durable()
        if not server.started:  # the app failed to start; uvicorn has said why
            raise typer.Exit(1)
