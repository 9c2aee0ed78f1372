"""What a Prometheus scrape gets: the counts of `Metrics`, and the state the database holds
read at that moment.

    taskline_tasks{status}                                        tasks in each status
    taskline_run_queue_depth                                      runs queued, not taken
    taskline_worker_last_heartbeat_timestamp_seconds{worker,status}
    taskline_database_up                                          1, or 0 when the state
                                                                  above could not be read

The state comes through `State`, which `taskline.Taskline` is: this package sits below
the service and never opens the database itself. A database that cannot be read makes
the scrape say so (`taskline_database_up 0`) instead of failing: the counts of the
process are still worth having.

`taskline worker --processes N` runs its workers in N processes: each writes its counts
to files in one directory (prometheus-client's multiprocess mode, `PROMETHEUS_MULTIPROC_DIR`
set by the parent), and the parent serves their sum (`processes_dir`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from taskline.errors import TasklineError
from taskline.lifecycle import Status
from taskline.observability.metrics import Metrics
from taskline.records import Worker

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""Where prometheus-client keeps a process's counts in files, for a parent to add up."""

logger = logging.getLogger(__name__)


class State(Protocol):
    """What a scrape reads from the database: `taskline.Taskline` is one."""

    def count_tasks(self) -> Mapping[Status, int]:
        """How many tasks are in each status."""
        ...

    def queued_runs(self) -> int:
        """Runs on the workers' queue that no worker has taken yet."""
        ...

    def workers(self) -> Sequence[Worker]:
        """Every worker that ever beat."""
        ...


def exposition(
    state: State, metrics: Metrics | None = None, *, processes_dir: Path | None = None
) -> tuple[bytes, str]:
    """The body of a `/metrics` answer in Prometheus's text format, and its content type:
    the counts of `metrics` (or of the processes writing to `processes_dir`) and `state`."""
    registry = CollectorRegistry()
    if metrics is not None:
        registry.register(_Counted(metrics.registry))
    if processes_dir is not None:
        registry.register(_Counted(_Processes(processes_dir)))
    registry.register(_StateCollector(state))
    return generate_latest(registry), CONTENT_TYPE_PLAIN_0_0_4


class _Counted(Collector):
    """The metrics of `source` without their `_created` samples: in the text format each is
    a gauge series of its own, one more per series counted, which Prometheus 2 ignores."""

    def __init__(self, source: Collector) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        for family in self.source.collect():
            family.samples = [s for s in family.samples if not s.name.endswith("_created")]
            yield family


class _Processes(Collector):
    """The sums of the counts written by the processes in multiprocess mode."""

    def __init__(self, directory: Path) -> None:
        self.collector = MultiProcessCollector(None, path=str(directory))  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Metric]:
        families: Iterable[Metric] = self.collector.collect()  # type: ignore[no-untyped-call]
        return families


class _StateCollector(Collector):
    """The state of the database, read when collected."""

    def __init__(self, state: State) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "taskline_database_up",
            "Whether this scrape could read the tasks, the run queue and the workers.",
        )
        try:
            counts = self.state.count_tasks()
            queued = self.state.queued_runs()
            workers = self.state.workers()
        except TasklineError as exc:  # the database is down, full of locks, gone
            logger.warning("taskline metrics: cannot read the database: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        tasks = GaugeMetricFamily("taskline_tasks", "Tasks in each status.", labels=["status"])
        for status in Status:
            tasks.add_metric([status.value], counts.get(status, 0))
        yield tasks
        yield GaugeMetricFamily(
            "taskline_run_queue_depth",
            "Runs queued for the workers (taskline task run --detach) and not taken yet.",
            value=queued,
        )
        beats = GaugeMetricFamily(
            "taskline_worker_last_heartbeat_timestamp_seconds",
            "When each worker last said it was alive (Unix time); status running, stopped"
            " (left cleanly) or adopted (its runs taken over by another worker).",
            labels=["worker", "status"],
        )
        for worker in workers:
            beats.add_metric([worker.id, worker.status], worker.last_seen_at.timestamp())
        yield beats
