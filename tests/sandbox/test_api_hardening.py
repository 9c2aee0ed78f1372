"""The HTTP API as an attacker meets it: the real `taskline serve` on 127.0.0.1.

No token, no body read: 50 MB sent without one is refused without the server's
memory growing; with the token, a body over the limit gets 413. Every response
carries the security headers, the token is never printed, and no message shows
a database password.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from taskline.testing.ports import free_port

START = "from taskline.cli import main; main()"
TOKEN = "test-token-0123456789"
BODY_BYTES = 50 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
MAX_GROWTH_BYTES = 20 * 1024 * 1024
# A ceiling on waits and on each request (httpx's default of 5 s is a window that a server
# starved of CPU by other test runs can miss).
DEADLINE_SECONDS = 60
CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
UNAUTHORIZED = {"detail": "missing or wrong API token: send `Authorization: Bearer TOKEN`"}
TOO_LARGE = {"detail": "request body too large: at most 1048576 bytes are accepted"}


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    stdout: str = ""
    stderr: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc/PID/status")


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
    env["TASKLINE_HOME"] = str(home)
    env["TASKLINE_DURABLE"] = "0"
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`taskline serve` in a process of its own, with the token given by the environment."""
    root = tmp_path_factory.mktemp("serve")
    env = base_env(root / "home") | {"TASKLINE_API_TOKEN": TOKEN}
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", START, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = Server(process, port)
    try:
        wait_until_serving(running)
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        running.stdout, running.stderr = process.communicate(timeout=DEADLINE_SECONDS)


def wait_until_serving(server: Server) -> None:
    """Until `/health` answers: only then has uvicorn put in its own SIGINT handling."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        try:
            if httpx.get(f"{server.url}/health", timeout=DEADLINE_SECONDS).status_code == 200:
                return
        except httpx.TransportError:
            if time.monotonic() > deadline or server.process.poll() is not None:
                raise
            time.sleep(0.05)  # looking again at once would take CPU from the server starting


def send_body(server: Server, headers: dict[str, str], *, chunked: bool) -> tuple[int, bytes]:
    """POST 50 MB to /api/tasks over a raw socket, chunk by chunk; the status and the answer.

    The answer is read by a second thread while the body is still going out: a
    server that answers early and closes must not make the answer get lost.
    """
    lines = ["POST /api/tasks HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["Transfer-Encoding: chunked" if chunked else f"Content-Length: {BODY_BYTES}"]
    answer = bytearray()
    with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE_SECONDS) as sock:

        def read() -> None:
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                try:
                    data = sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                answer.extend(data)

        reader = threading.Thread(target=read)
        reader.start()
        chunk = b"x" * CHUNK_BYTES
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            for _ in range(BODY_BYTES // CHUNK_BYTES):
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed before the body was all sent
            pass
        reader.join(DEADLINE_SECONDS)
    head, _, body = bytes(answer).partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_50_mb_without_a_token_is_refused_unread(server: Server, chunked: bool) -> None:
    httpx.get(
        f"{server.url}/api/tasks",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=DEADLINE_SECONDS,
    )
    before = server.rss_bytes()

    status, body = send_body(server, {}, chunked=chunked)

    growth = server.rss_bytes() - before
    print(f"RSS growth after 50 MB without a token ({'chunked' if chunked else 'sized'}): {growth}")
    assert (status, json.loads(body)) == (401, UNAUTHORIZED)
    assert growth < MAX_GROWTH_BYTES


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_50_mb_with_the_token_is_too_large(server: Server, chunked: bool) -> None:
    before = server.rss_bytes()

    status, body = send_body(server, {"Authorization": f"Bearer {TOKEN}"}, chunked=chunked)

    assert (status, json.loads(body)) == (413, TOO_LARGE)
    assert server.rss_bytes() - before < MAX_GROWTH_BYTES


@pytest.mark.parametrize(
    ("path", "token", "status"),
    [
        ("/api/tasks", TOKEN, 200),
        ("/api/tasks", None, 401),
        ("/api/tasks/no-such-task", TOKEN, 404),
        ("/", None, 200),
        ("/static/style.css", None, 200),
        ("/static/js/app.js", None, 200),
        ("/static/missing.js", None, 404),
        ("/health", None, 200),
        ("/openapi.json", None, 200),
        ("/api/docs", TOKEN, 404),
    ],
)
def test_every_response_carries_the_security_headers(
    server: Server, path: str, token: str | None, status: int
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    response = httpx.get(f"{server.url}{path}", headers=headers, timeout=DEADLINE_SECONDS)

    assert response.status_code == status
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_dashboard_loads_nothing_from_elsewhere(server: Server) -> None:
    page = httpx.get(f"{server.url}/", timeout=DEADLINE_SECONDS).text
    static = Path(__file__).parents[2] / "src/taskline/api/static"
    sources = [p.read_text() for p in static.rglob("*") if p.suffix in {".js", ".css", ".html"}]

    for text in [page, *sources]:
        assert "http://" not in text.replace("http://www.w3.org/", "")
        assert "https://" not in text
        assert "<script>" not in text  # no inline script: the policy would block it
        assert " style=" not in text


def test_a_small_body_with_the_token_is_served(server: Server) -> None:
    response = httpx.post(
        f"{server.url}/api/tasks",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"title": "Small enough"},
        timeout=DEADLINE_SECONDS,
    )

    assert (response.status_code, response.json()["title"]) == (201, "Small enough")


def test_the_token_is_never_printed(server: Server, tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", START, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=base_env(tmp_path / "home") | {"TASKLINE_API_TOKEN": TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    # Stopped once it serves: a SIGINT in the middle of its start is another test's matter.
    wait_until_serving(Server(process, port))
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=DEADLINE_SECONDS)

    assert first == "API token: from $TASKLINE_API_TOKEN\n"
    assert TOKEN not in first + out + err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgresql://bob:hunter2-secret@127.0.0.1:{port}/db",
            "error: cannot open database postgresql+psycopg://bob:***@127.0.0.1:{port}/db:"
            ' connection failed: connection to server at "127.0.0.1", port {port} failed:'
            " Connection refused",
        ),
        (
            "postgresql://bob:hunter2-secret@127.0.0.1:notaport/db",
            "error: invalid database URL 'postgresql+psycopg://bob:***@127.0.0.1:notaport/db'",
        ),
        (
            "postgresql//bob:hunter2-secret@127.0.0.1/db",
            "error: invalid database URL 'postgresql//bob:***@127.0.0.1/db'",
        ),
        (
            "mysql://bob:hunter2-secret@127.0.0.1/db",
            "error: unsupported database 'mysql' in mysql://bob:***@127.0.0.1/db:"
            " use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB",
        ),
    ],
)
def test_a_bad_database_url_shows_no_password(tmp_path: Path, url: str, message: str) -> None:
    port = free_port()  # nobody listens there
    env = base_env(tmp_path / "home") | {"TASKLINE_DATABASE_URL": url.format(port=port)}

    done = subprocess.run(
        [sys.executable, "-c", START, "task", "list"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
    )

    assert (done.returncode, done.stdout, done.stderr) == (1, "", message.format(port=port) + "\n")
