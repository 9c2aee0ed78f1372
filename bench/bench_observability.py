"""What traces and metrics cost per turn, and what they cost when they are off.

    .venv/bin/python bench/bench_observability.py [--turns 20] [--rounds 15]

The task of `bench_engine.py` (each turn one `read_file`, then `submit_work`) with the
scripted model (model time ~0), inline on SQLite, under each observer:

    off       no OTEL_* variables and no metrics: the engine's `UNOBSERVED`
    traces    spans exported by the real OTLP/HTTP exporter (batched, in its own thread)
              to a receiver on loopback that decodes them
    metrics   this process's Prometheus metrics
    both      traces and metrics, as `taskline serve` with OTEL_* set runs

Framework time per turn as `bench_engine.py` measures it. The observers take turns
round by round, so that a machine growing busier weighs on each alike; the figure
is the median over `--rounds`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from bench.bench_engine import per_turn_ms, scripted_factory
from taskline import Taskline
from taskline.engine.events import UNOBSERVED
from taskline.observability import Observers
from taskline.observability.metrics import Metrics
from taskline.observability.tracing import Tracing
from taskline.protocols import Observer
from taskline.store import SqlStore
from taskline.testing.otlp import OtlpReceiver


@contextmanager
def observers(endpoint: str) -> Iterator[dict[str, Callable[[], Observer]]]:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    tracing = Tracing(provider)
    metrics = Metrics()
    try:
        yield {
            "off": lambda: UNOBSERVED,
            "traces": lambda: tracing,
            "metrics": lambda: metrics,
            "both": lambda: Observers([tracing, metrics]),
        }
    finally:
        provider.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    receiver = OtlpReceiver()
    with tempfile.TemporaryDirectory() as tmp, receiver.serving():
        workdir = Path(tmp)
        store = SqlStore.open(f"sqlite:///{workdir / 'bench.db'}")
        with (
            Taskline(store, actor="user:bench", home=workdir) as tl,
            observers(f"{receiver.endpoint}/v1/traces") as made,
        ):
            tl.add_agent("bench", model="bench:x")
            samples: dict[str, list[float]] = {name: [] for name in made}
            per_turn_ms(tl, workdir, args.turns, scripted_factory(args.turns))  # warm up
            for _ in range(args.rounds):
                for name, observer in made.items():
                    tl.observer = observer()
                    framework, _model = per_turn_ms(
                        tl, workdir, args.turns, scripted_factory(args.turns)
                    )
                    samples[name].append(framework)
            tl.observer.flush()
    off = statistics.median(samples["off"])
    for name, values in samples.items():
        median = statistics.median(values)
        print(
            f"{name:8s} {median:6.3f} ms/turn  (range {min(values):.3f}-{max(values):.3f},"
            f" n={len(values)})  {median - off:+.3f} ms/turn against off"
        )
    print(f"spans received: {len(receiver.spans)}")


if __name__ == "__main__":
    main()
