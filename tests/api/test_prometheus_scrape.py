"""Debian's real Prometheus scraping a live `taskline serve`, queried through its HTTP API
after a task ran through the server: the token is needed, and what it shows is exact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskline.testing.ports import free_port
from taskline.testing.prometheus import (
    PrometheusServer,
    PrometheusUnavailable,
    Target,
    throwaway_prometheus,
)

START = "from taskline.cli import main; main()"
TOKEN = "scrape-token"
# Only ceilings: on a machine loaded by other test runs, starting DBOS alone has taken
# over a minute.
WAIT_SECONDS = 300.0
# A ceiling on one request: httpx's default of 5 s is a window that a server starved of
# CPU by other test runs can miss.
REQUEST_SECONDS = 60.0
# The answers of the scripted agent, each billed as the provider says.
ANSWERS = [
    {"tool_calls": [{"name": "write_file", "arguments": {"path": "hello.txt", "content": "hi"}}],
     "usage": {"input_tokens": 1200, "output_tokens": 80, "cache_read_tokens": 1000},
     "cost_usd": "0.0021", "latency_ms": 400},
    {"tool_calls": [{"name": "submit_work", "arguments": {"summary": "Wrote hello.txt."}}],
     "usage": {"input_tokens": 1400, "output_tokens": 30, "reasoning_tokens": 12},
     "cost_usd": "0.0017", "latency_ms": 600},
]  # fmt: skip


def eventually(read: Callable[[], Any], expected: Any, what: str) -> None:
    """Poll `read` until it gives `expected`; fail with the last value after the deadline."""
    deadline = time.monotonic() + WAIT_SECONDS
    while (value := read()) != expected:
        assert time.monotonic() < deadline, f"timed out waiting for {what}: last {value!r}"
        time.sleep(0.1)


@contextmanager
def serving(tmp_path: Path, *options: str) -> Iterator[httpx.Client]:
    """`taskline serve` in a process of its own, durable as a user starts it; a client for it
    sending the token. Stopped with SIGINT at the end, and it must stop cleanly."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
    env |= {"TASKLINE_HOME": str(tmp_path / "home"), "TASKLINE_API_TOKEN": TOKEN}
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-c", START, "serve", "--port", str(port), *options],
            cwd=tmp_path, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=url, headers=auth, timeout=REQUEST_SECONDS) as client:
            eventually(lambda: _status(client, "/health"), 200, "the server to answer")
            yield client
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(WAIT_SECONDS)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    assert server.returncode == 0, log.read_text()


def _status(client: httpx.Client, path: str) -> int | None:
    try:
        return client.get(path).status_code
    except httpx.TransportError:  # not listening yet
        return None


@contextmanager
def prometheus(*targets: Target) -> Iterator[PrometheusServer]:
    try:
        with throwaway_prometheus(targets) as server:
            yield server
    except PrometheusUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Prometheus must run in CI: {exc}")
        pytest.skip(f"Prometheus not available: {exc}")


def run_a_task(client: httpx.Client, script: Path) -> str:
    """Create a scripted agent and a task for it, run the task, wait until COMPLETED."""
    script.write_text(json.dumps({"responses": ANSWERS}))
    agent = {"name": "greeter", "model": f"scripted:{script}"}
    assert client.post("/api/agents", json=agent).status_code == 201
    task_id: str = client.post("/api/tasks", json={"title": "Greet"}).json()["id"]
    client.post(f"/api/tasks/{task_id}/assign", json={"agent": "greeter"}).raise_for_status()
    client.post(f"/api/tasks/{task_id}/run").raise_for_status()
    eventually(lambda: client.get(f"/api/tasks/{task_id}").json()["status"], "COMPLETED", "the run")
    return task_id


def test_prometheus_shows_the_tokens_and_cost_of_a_run_through_the_server(
    tmp_path: Path,
) -> None:
    # Two jobs scrape the server: one with the token, one without, which is refused.
    with serving(tmp_path) as client:
        run_a_task(client, tmp_path / "greeter.json")
        client.post("/api/tasks", json={"title": "Later"}).raise_for_status()
        address = client.base_url.netloc.decode()
        with prometheus(Target(address, token=TOKEN), Target(address)) as server:
            eventually(
                lambda: {(t["labels"]["job"], t["health"], t["lastError"]) for t in server.targets()},
                {("taskline-0", "up", ""),
                 ("taskline-1", "down", "server returned HTTP status 401 Unauthorized")},
                "both targets to be scraped",
            )  # fmt: skip
            by_status = 'sum by (status) (taskline_tasks{job="taskline-0"})'
            eventually(
                lambda: {s["metric"]["status"]: s["value"][1] for s in server.query(by_status)},
                {"CREATED": "1", "ASSIGNED": "0", "IN_PROGRESS": "0", "IN_REVIEW": "0",
                 "COMPLETED": "1", "BLOCKED": "0", "CANCELLED": "0", "FAILED": "0"},
                "the tasks by status",
            )  # fmt: skip
            assert server.value('taskline_database_up{job="taskline-0"}') == 1.0
            assert server.value('taskline_run_queue_depth{job="taskline-0"}') == 0.0
            ran = {
                "tokens": {"input": 2600.0, "output": 110.0, "cache_read": 1000.0,
                           "cache_write": 0.0, "reasoning": 12.0},
                # A counter is a float: the two costs add up as floats do.
                "cost_usd": {"greeter": 0.0021 + 0.0017},
                "calls": {"ok": 2.0},
                "runs": {"submitted": 1.0},
                "latency_seconds": (2.0, 1.0),
                "tools": {"write_file": 1.0, "submit_work": 1.0},
                "moves": {("CREATED", "ASSIGNED"): 1.0, ("ASSIGNED", "IN_PROGRESS"): 1.0,
                          ("IN_PROGRESS", "IN_REVIEW"): 1.0, ("IN_REVIEW", "COMPLETED"): 1.0},
            }  # fmt: skip
            # Polled too: the last move is counted a moment after it is stored.
            eventually(lambda: what_the_run_cost(server), ran, "the run's counts")


def what_the_run_cost(server: PrometheusServer) -> dict[str, Any]:
    """The counts of the run, as Prometheus has them from the server's scrapes (job
    taskline-0), by what a dashboard would group them by."""

    def by(label: str, expression: str) -> dict[Any, float]:
        return {
            s["metric"][label]: float(s["value"][1])
            for s in server.query(f'sum by ({label}) ({expression}{{job="taskline-0"}})')
        }

    moves = server.query('sum by (from, to) (taskline_transitions_total{job="taskline-0"})')
    latency = 'taskline_model_call_duration_seconds_{}{{job="taskline-0"}}'
    return {
        "tokens": by("type", "taskline_model_tokens_total"),
        "cost_usd": by("agent", "taskline_model_cost_usd_total"),
        "calls": by("outcome", "taskline_model_calls_total"),
        "runs": by("outcome", "taskline_runs_total"),
        "latency_seconds": (
            server.value(latency.format("count")),
            server.value(latency.format("sum")),
        ),
        "tools": by("tool", "taskline_tool_call_duration_seconds_count"),
        "moves": {(s["metric"]["from"], s["metric"]["to"]): float(s["value"][1]) for s in moves},
    }
