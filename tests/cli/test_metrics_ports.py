"""`taskline worker --metrics-port` (one process, and the parent of `--processes N`) and
`taskline serve --metrics-public`, run as a user runs them; their mistakes are one line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from taskline.cli import app
from taskline.testing.ports import free_port
from tests.faults.deployment import wait_for
from tests.observability.exposition import samples
from tests.test_durable import SCRIPT, Deployment
from tests.test_worker_processes import WAIT_SECONDS, children_of

TOKEN = "metrics-token"
BEAT = "taskline_worker_last_heartbeat_timestamp_seconds"
REFUSED = {"detail": "missing or wrong API token: send `Authorization: Bearer TOKEN`"}
# A ceiling on one request: httpx's default of 5 s is a window that a process starved of
# CPU by other test runs can miss.
REQUEST_SECONDS = 60.0


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    """A durable SQLite deployment whose servers take the token from the environment."""
    deployment = Deployment(tmp_path / "home", f"sqlite:///{tmp_path / 'taskline.db'}", tmp_path)
    deployment.env["TASKLINE_API_TOKEN"] = TOKEN
    return deployment


@pytest.fixture
def started(deployment: Deployment) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Starts `taskline ARGS…` with stderr in `stderr.log`; kills what a failed test left."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        with (deployment.tmp_path / "stderr.log").open("wb") as stderr:
            process = subprocess.Popen(
                [SCRIPT, *args], env=deployment.env, stdout=subprocess.DEVNULL, stderr=stderr
            )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            for pid in children_of(process.pid).values():
                os.kill(pid, signal.SIGKILL)
            process.kill()
            process.wait()


def scrape(port: int, token: str | None = TOKEN) -> httpx.Response | None:
    """GET /metrics, or None while nothing listens yet."""
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    try:
        return httpx.get(
            f"http://127.0.0.1:{port}/metrics", headers=headers, timeout=REQUEST_SECONDS
        )
    except httpx.TransportError:
        return None


def beats(port: int, token: str | None = TOKEN) -> dict[str, float]:
    """The workers' heartbeat series of a scrape (their times left out), empty until it answers."""
    answer = scrape(port, token)
    if answer is None or answer.status_code != 200:
        return {}
    return {key: 1.0 for key in samples(answer.text, BEAT)}


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=WAIT_SECONDS)


def test_a_worker_serves_its_metrics_behind_the_token(
    deployment: Deployment, started: Callable[..., subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    worker = started("worker", "--id", "solo", "--metrics-port", str(port))
    running = {f'{BEAT}{{status="running",worker="solo"}}': 1.0}
    wait_for(lambda: beats(port) == running or worker.poll() is not None, "a scrape")
    anonymous = scrape(port, token=None)
    elsewhere = httpx.get(
        f"http://127.0.0.1:{port}/api/tasks",
        headers={"Authorization": TOKEN},
        timeout=REQUEST_SECONDS,
    )

    assert stop(worker) == 0
    assert anonymous is not None
    assert (anonymous.status_code, anonymous.json()) == (401, REFUSED)
    assert elsewhere.status_code == 404
    assert (deployment.tmp_path / "stderr.log").read_text().splitlines() == [
        "API token: from $TASKLINE_API_TOKEN",
        f"worker solo: Prometheus metrics on http://127.0.0.1:{port}/metrics",
        "worker solo: taking runs from queue taskline-runs (4 at a time); Ctrl-C or SIGTERM"
        " to stop",
    ]


def queue_greetings(deployment: Deployment, count: int) -> list[str]:
    """`count` tasks of a scripted agent, each run queued for the workers: two answers
    each, costs that add up exactly in binary floating point."""
    script = deployment.tmp_path / "greeter.json"
    script.write_text(json.dumps({"responses": GREETING}))
    with deployment.library() as tl:
        tl.add_agent("greeter", model=f"scripted:{script}")
        tasks = [tl.create_task(f"Greet {n}").id for n in range(count)]
        for task_id in tasks:
            tl.assign(task_id, "greeter")
    for task_id in tasks:
        deployment.cli("task", "run", task_id, "--detach")
    return tasks


GREETING = [
    {"tool_calls": [{"name": "write_file", "arguments": {"path": "a.txt", "content": "a"}}],
     "usage": {"input_tokens": 300, "output_tokens": 20}, "cost_usd": "0.0625"},
    {"tool_calls": [{"name": "submit_work", "arguments": {"summary": "done"}}],
     "usage": {"input_tokens": 400, "output_tokens": 10}, "cost_usd": "0.125"},
]  # fmt: skip


def counts(port: int) -> dict[str, float]:
    """Runs ended, cost and tokens by type as a scrape shows them, each summed over its
    other labels; empty until the scrape answers."""
    answer = scrape(port, token=None)
    if answer is None or answer.status_code != 200:
        return {}
    summed: dict[str, float] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == "taskline_model_tokens_total":
                key = f"{sample.name}:{sample.labels['type']}"
            elif sample.name in ("taskline_runs_total", "taskline_model_cost_usd_total"):
                key = sample.name
            else:
                continue
            summed[key] = summed.get(key, 0.0) + sample.value
    return summed


def test_the_parent_of_worker_processes_serves_the_sums_of_their_counts_dead_ones_included(
    deployment: Deployment, started: Callable[..., subprocess.Popen[bytes]]
) -> None:
    tasks = queue_greetings(deployment, 4)
    port = free_port()
    options = ("--processes", "2", "--concurrency", "1", "--metrics-port", str(port))
    pool = started("worker", "--id", "pool", *options, "--metrics-public")
    both = {f'{BEAT}{{status="running",worker="pool-{n}"}}': 1.0 for n in (1, 2)}
    wait_for(lambda: beats(port, token=None) == both or pool.poll() is not None, "a scrape")
    summed = {
        "taskline_runs_total": 4.0,
        "taskline_model_cost_usd_total": 4 * (0.0625 + 0.125),
        "taskline_model_tokens_total:input": 4 * 700.0,
        "taskline_model_tokens_total:output": 4 * 30.0,
        "taskline_model_tokens_total:cache_read": 0.0,
        "taskline_model_tokens_total:cache_write": 0.0,
        "taskline_model_tokens_total:reasoning": 0.0,
    }
    wait_for(lambda: counts(port) == summed or pool.poll() is not None, "the runs' counts")
    assert counts(port) == summed
    assert all(deployment.show(task_id)["status"] == "COMPLETED" for task_id in tasks)
    # Each child keeps its counts in files of its pid in one directory, which the parent reads.
    before = children_of(pool.pid)
    [directory] = {_environment(pid).get("PROMETHEUS_MULTIPROC_DIR") for pid in before.values()}
    assert directory is not None
    # A child that counted, killed and started again under a new pid: its counts stay.
    victim = next(
        name for name, pid in before.items() if (Path(directory) / f"counter_{pid}.db").exists()
    )
    os.kill(before[victim], signal.SIGKILL)
    wait_for(lambda: children_of(pool.pid).get(victim, before[victim]) != before[victim],
             f"{victim} to start again")  # fmt: skip
    assert counts(port) == summed
    assert stop(pool) == 0
    assert not Path(directory).exists()
    assert "API token" not in (deployment.tmp_path / "stderr.log").read_text()


def _environment(pid: int) -> dict[str, str]:
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().partition("=")[::2] for entry in entries if entry)


def test_serve_with_public_metrics_answers_a_scrape_without_the_token(
    deployment: Deployment, started: Callable[..., subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    server = started("serve", "--port", str(port), "--metrics-public")
    wait_for(lambda: scrape(port, token=None) is not None or server.poll() is not None, "serve")
    public = scrape(port, token=None)
    api = httpx.get(f"http://127.0.0.1:{port}/api/tasks", timeout=REQUEST_SECONDS)
    server.send_signal(signal.SIGINT)

    assert server.wait(timeout=WAIT_SECONDS) == 0
    assert public is not None
    assert public.status_code == 200
    assert samples(public.text, "taskline_database_up") == {"taskline_database_up": 1.0}
    assert (api.status_code, api.json()) == (401, REFUSED)


@pytest.mark.parametrize("processes", ["1", "2"])
def test_a_metrics_port_in_use_is_one_line_and_no_worker_starts(
    deployment: Deployment, processes: str
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = deployment.cli(
            "worker", "--processes", processes, "--metrics-port", str(port), check=False
        )
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        "",
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n",
    )


def test_metrics_options_without_a_port_are_one_line(deployment: Deployment) -> None:
    done = deployment.cli("worker", "--metrics-public", check=False)
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        "",
        "error: --metrics-host and --metrics-public need --metrics-port\n",
    )


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            "--metrics-port=0",
            "Invalid value for '--metrics-port': Input should be greater than or equal to 1",
        ),
        (
            "--metrics-port=70000",
            "Invalid value for '--metrics-port': Input should be less than or equal to 65535",
        ),
        (
            "--metrics-port=http",
            "Invalid value for '--metrics-port': Input should be a valid integer, unable to parse string as an integer",
        ),
    ],
)
def test_a_wrong_metrics_port_is_a_usage_error(option: str, message: str) -> None:
    result = CliRunner().invoke(app, ["worker", option])
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.replace("│", " ").split())
    assert "Traceback" not in result.stderr
