"""`taskline serve` as a user starts it: a token printed at the first start, loopback, 401s."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from taskline.testing.ports import free_port

START = "from taskline.cli import main; main()"


def test_serve_says_where_a_new_token_is_and_guards_the_api(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
    env["TASKLINE_HOME"] = str(home)
    server = subprocess.Popen(
        [sys.executable, "-c", START, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        first, second, third = (server.stdout.readline() for _ in range(3))
        token = (home / "api-token").read_text().strip()
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=10) as client:
            health = _retry(lambda: client.get("/health"))
            anonymous = client.get("/api/tasks")
            allowed = client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"})
    finally:
        server.send_signal(signal.SIGINT)
        _out, err = server.communicate(timeout=20)

    # Where the token is kept, never the token: a server's output ends up in its logs.
    assert first == f"API token: generated and kept in {home / 'api-token'}\n"
    assert token not in first + second + _out + err
    assert second == f"taskline API and dashboard on {url}/ (Ctrl-C to stop)\n"
    assert third == f"Prometheus metrics on {url}/metrics (with the API token)\n"
    assert (health.status_code, anonymous.status_code, allowed.json()) == (200, 401, [])
    assert server.returncode == 0, err


def _retry(request: Callable[[], httpx.Response]) -> httpx.Response:
    """The first answer once the server listens (it prints before it binds); a loaded
    machine may take many seconds to start it."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return request()
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_port_in_use_is_one_error_line_and_nothing_else(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
    env["TASKLINE_HOME"] = str(tmp_path / "home")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-c", START, "serve", "--port", str(port)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        "",
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n",
    )
    assert not (tmp_path / "home" / "api-token").exists()
