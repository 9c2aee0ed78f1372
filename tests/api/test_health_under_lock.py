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

import httpx

from taskline.testing.ports import free_port
from tests.api.test_serve import START, _retry
from tests.faults.test_lock_and_readonly import hold_write_lock

HEALTH_WITHIN_SECONDS = 0.05


def test_health_answers_within_50_ms_while_another_process_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
    env |= {"TASKLINE_HOME": str(home), "TASKLINE_DATABASE_URL": f"sqlite:///{home}/t.db?timeout=5"}
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
        with httpx.Client(base_url=url, timeout=30) as client:
            _retry(lambda: client.get("/health"))
            token = (home / "api-token").read_text().strip()
            auth = {"Authorization": f"Bearer {token}"}
            holder = hold_write_lock(home / "t.db")
            try:
                # A write that waits for the lock (up to 5 s) inside the server.
                writer = threading.Thread(
                    target=lambda: client.post("/api/tasks", json={"title": "t"}, headers=auth)
                )
                writer.start()
                timings = []
                fresh = httpx.Client(base_url=url, limits=httpx.Limits(max_keepalive_connections=0))
                for _ in range(10):
                    # A new connection each time: on a kept-alive one, Nagle's algorithm and
                    # delayed ACKs add 40 ms to every answer, whatever the server does.
                    started = time.monotonic()
                    assert fresh.get("/health").status_code == 200
                    timings.append(time.monotonic() - started)
                print("health seconds", [round(t, 4) for t in timings])
                fresh.close()
                assert writer.is_alive()  # the write was still waiting for the lock
            finally:
                holder.communicate("")
                writer.join()
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
    assert max(timings) < HEALTH_WITHIN_SECONDS, timings
