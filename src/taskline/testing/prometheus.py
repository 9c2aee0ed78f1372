"""A throwaway Prometheus server on 127.0.0.1 scraping given targets, for tests.

    with throwaway_prometheus([Target("127.0.0.1:8321", token="...")]) as prometheus:
        prometheus.value('taskline_tasks{status="COMPLETED"}')   # 1.0, or None

It runs Debian's `prometheus` (the package of that name installs /usr/bin/prometheus
and promtool) with a configuration and a database in a temporary directory,
listening on a free loopback port, and stops it and removes everything when the
block ends.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from taskline.testing.ports import free_port

START_SECONDS = 60.0
STOP_SECONDS = 20.0
SCRAPE_INTERVAL = "1s"


class PrometheusUnavailable(RuntimeError):
    """No `prometheus` binary, or it would not start."""


@dataclass(frozen=True)
class Target:
    """A `/metrics` to scrape: `host:port`, with the bearer token it needs, if any."""

    address: str
    token: str | None = None


@dataclass(frozen=True)
class PrometheusServer:
    """A running throwaway server."""

    url: str
    """`http://127.0.0.1:PORT`."""
    log: Path
    """What the server said."""

    def query(self, expression: str) -> list[dict[str, Any]]:
        """The result of an instant query through `/api/v1/query`: one item per series."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expression}, timeout=10)
        answer.raise_for_status()
        body = answer.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def value(self, expression: str) -> float | None:
        """The value of a query that selects one series; None when it selects none yet."""
        result = self.query(expression)
        if not result:
            return None
        [series] = result
        return float(series["value"][1])

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets, with their health and last error."""
        answer = httpx.get(f"{self.url}/api/v1/targets", timeout=10)
        answer.raise_for_status()
        active: list[dict[str, Any]] = answer.json()["data"]["activeTargets"]
        return active


def config(targets: Sequence[Target], directory: Path) -> dict[str, Any]:
    """The scrape configuration: one job per target, every second, each token in a file."""
    jobs = []
    for number, target in enumerate(targets):
        job: dict[str, Any] = {
            "job_name": f"taskline-{number}",
            "scrape_interval": SCRAPE_INTERVAL,
            "static_configs": [{"targets": [target.address]}],
        }
        if target.token is not None:
            token_file = directory / f"token-{number}"
            token_file.write_text(target.token)
            job["authorization"] = {"type": "Bearer", "credentials_file": str(token_file)}
        jobs.append(job)
    return {"global": {"scrape_interval": SCRAPE_INTERVAL}, "scrape_configs": jobs}


@contextmanager
def throwaway_prometheus(targets: Sequence[Target]) -> Iterator[PrometheusServer]:
    """Start Prometheus on a free loopback port scraping `targets`; stop it at the end."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise PrometheusUnavailable("no prometheus binary; install Debian's `prometheus` package")
    root = Path(tempfile.mkdtemp(prefix="taskline-prometheus-"))
    try:
        config_file = root / "prometheus.yml"
        # JSON is YAML: no YAML writer needed.
        config_file.write_text(json.dumps(config(targets, root)))
        address = f"127.0.0.1:{free_port()}"
        log = root / "prometheus.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [binary, f"--config.file={config_file}", f"--storage.tsdb.path={root / 'data'}",
                 f"--web.listen-address={address}", "--log.level=warn"],
                stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        try:
            server = PrometheusServer(url=f"http://{address}", log=log)
            _wait_until_ready(server, process)
            yield server
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_ready(server: PrometheusServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        if process.poll() is not None:
            raise PrometheusUnavailable(
                f"prometheus exited with {process.returncode}: {server.log.read_text()}"
            )
        try:
            if httpx.get(f"{server.url}/-/ready", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise PrometheusUnavailable(f"prometheus not ready after {START_SECONDS:g} s")
        time.sleep(0.05)
