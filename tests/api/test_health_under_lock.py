"""The server's event loop never waits on the database: /health answers while another
process holds the SQLite write lock and a request waits for it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from taskline.testing.ports import free_port
from tests.api.test_serve import START, _retry
from tests.faults.test_lock_and_readonly import hold_write_lock

# How long the server's write waits for the lock: far longer than the test holds it.
LOCK_WAIT_SECONDS = 120
# A /health that waited for the write would wait until the lock is released, after the
# checks: it would time out here instead, however loaded the machine.
HEALTH_TIMEOUT_SECONDS = 30


def test_health_answers_while_a_request_waits_for_the_write_lock_another_process_holds(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
    env |= {
        "TASKLINE_HOME": str(home),
        "TASKLINE_DATABASE_URL": f"sqlite:///{home}/t.db?timeout={LOCK_WAIT_SECONDS}",
    }
    server = subprocess.Popen(
        [sys.executable, "-c", START, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=LOCK_WAIT_SECONDS * 2) as client:
            _retry(lambda: client.get("/health"))
            token = (home / "api-token").read_text().strip()
            auth = {"Authorization": f"Bearer {token}"}
            holder = hold_write_lock(home / "t.db")
            sent = threading.Event()
            written: list[int] = []

            def on_trace(event: str, _info: dict[str, Any]) -> None:
                if event == "http11.receive_response_headers.started":
                    sent.set()  # the whole request is on its way: the server reads it next

            def write() -> None:
                created = client.post(
                    "/api/tasks", json={"title": "t"}, headers=auth, extensions={"trace": on_trace}
                )
                written.append(created.status_code)

            writer = threading.Thread(target=write)
            try:
                writer.start()
                assert sent.wait(HEALTH_TIMEOUT_SECONDS), "the write was never sent"
                timings = []
                # A new connection each time: on a kept-alive one, Nagle's algorithm and
                # delayed ACKs add 40 ms to every answer, whatever the server does.
                fresh = httpx.Client(
                    base_url=url,
                    timeout=HEALTH_TIMEOUT_SECONDS,
                    limits=httpx.Limits(max_keepalive_connections=0),
                )
                with fresh:
                    for _ in range(10):
                        started = time.monotonic()
                        assert fresh.get("/health").status_code == 200
                        timings.append(time.monotonic() - started)
                print("health seconds", [round(t, 4) for t in timings])
                assert writer.is_alive()  # every answer came while the write waited
            finally:
                holder.communicate("")
                writer.join()
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
    assert written == [201]
