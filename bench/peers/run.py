"""taskline against peer agent frameworks: per-turn overhead, concurrency, charts.

    .venv-peers/bin/python -m bench.peers.run overhead [--turns 20] [--repeat 15]
    .venv-peers/bin/python -m bench.peers.run concurrency [--tasks 1000] [--turns 10] \
        [--latency-ms 200]
    .venv-peers/bin/python -m bench.peers.run charts

Each measurement runs one framework in a subprocess of its own (bench/peers/child.py)
against the loopback server (bench/peers/server.py), also a subprocess, and
appends its JSON line to bench/peers/results/<mode>.jsonl, with the load average
at the time. `charts` draws docs/bench-overhead.png and docs/bench-concurrency.png
from the latest results and prints the tables of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results"
DOCS = ROOT / "docs"
# NAME@before: taskline as of $TASKLINE_BEFORE_SRC (an older commit's src/, checked out)
OVERHEAD = [
    "bare-openai",
    "bare-openai-async",
    "taskline",
    "taskline-postgres",
    "taskline-inline",
    "taskline@before",
    "taskline-postgres@before",
    "pydantic-ai",
    "openai-agents",
    "smolagents",
    "langgraph",
]
CONCURRENT = [n for n in OVERHEAD if n != "bare-openai"]  # the sync loop runs one at a time
BEFORE_SRC = Path(os.environ.get("TASKLINE_BEFORE_SRC", "/tmp/taskline-before/src"))


@contextmanager
def server(latency_ms: float) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "port"
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.peers.server", "--latency-ms", str(latency_ms),
             "--ready-file", str(ready)],
            cwd=ROOT, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            while not ready.exists() or not ready.read_text():
                time.sleep(0.05)
            yield f"http://127.0.0.1:{ready.read_text()}/v1"
        finally:
            process.terminate()
            process.wait(timeout=10)


def child(
    mode: str, framework: str, base_url: str, timeout_seconds: float, *extra: str
) -> dict[str, Any]:
    load = os.getloadavg()[0]
    env = dict(os.environ)
    if framework.endswith("@before"):  # ahead of the editable install of this checkout
        if not (BEFORE_SRC / "taskline").is_dir():
            return {"framework": framework, "error": [f"no taskline in {BEFORE_SRC}"]}
        env["PYTHONPATH"] = f"{BEFORE_SRC}{os.pathsep}{ROOT}"
    done = subprocess.run(
        [sys.executable, "-m", "bench.peers.child", mode, framework, base_url, *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout_seconds, env=env,
    )  # fmt: skip
    if done.returncode != 0:
        return {"framework": framework, "error": done.stderr.strip().splitlines()[-1:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_before"] = load
    result["load_after"] = os.getloadavg()[0]
    return result


def record(mode: str, result: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    result["at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with (RESULTS / f"{mode}.jsonl").open("a") as f:
        f.write(json.dumps(result) + "\n")
    print(json.dumps(result)[:300], flush=True)


def overhead(args: argparse.Namespace) -> None:
    with server(args.latency_ms) as base_url:
        for round_ in range(args.rounds):  # rounds interleave frameworks against drifting load
            for framework in args.only or OVERHEAD:
                result = child("overhead", framework, base_url, 600, "--turns", str(args.turns),
                               "--repeat", str(args.repeat))  # fmt: skip
                result["round"] = round_
                record("overhead", result)


def concurrency(args: argparse.Namespace) -> None:
    with server(args.latency_ms) as base_url:
        for round_ in range(args.rounds):  # rounds interleave frameworks against drifting load
            for framework in args.only or CONCURRENT:
                for tasks in args.tasks:
                    result = child("concurrency", framework, base_url, args.timeout_seconds,
                                   "--turns", str(args.turns), "--tasks", str(tasks))  # fmt: skip
                    result["latency_ms"] = args.latency_ms
                    result["round"] = round_
                    record("concurrency", result)


def latest(mode: str) -> list[dict[str, Any]]:
    lines = (RESULTS / f"{mode}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def charts(args: argparse.Namespace) -> None:
    import matplotlib  # type: ignore[import-not-found,unused-ignore]

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # type: ignore[import-not-found,unused-ignore]

    results = [
        r for r in latest("overhead") if "error" not in r and args.since <= r["at"] < args.until
    ]
    by: dict[str, list[float]] = {}
    rss: dict[str, list[int]] = {}
    loads: list[float] = []
    for r in results:
        by.setdefault(r["framework"], []).extend(r["framework_ms_per_turn"])
        rss.setdefault(r["framework"], []).append(r["peak_rss_kb"])
        loads += [r["load_before"], r["load_after"]]
    floor = statistics.median(by["bare-openai"])
    names = [n for n in OVERHEAD if n in by]
    print(f"load average (1 min) during the runs: {min(loads):.2f}-{max(loads):.2f}\n")
    print("| framework | ms/turn median | p25-p75 | min-max | n | x bare | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for n in names:
        s = sorted(by[n])
        q = statistics.quantiles(s, n=4)
        print(f"| {n} | {statistics.median(s):.2f} | {q[0]:.2f}-{q[2]:.2f} | {s[0]:.2f}-{s[-1]:.2f}"
              f" | {len(s)} | {statistics.median(s) / floor:.1f} |"
              f" {statistics.median(rss[n]) / 1024:.0f} |")  # fmt: skip
    DOCS.mkdir(exist_ok=True)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.boxplot([by[n] for n in names], tick_labels=names, showfliers=False)
    ax.set_ylabel("framework ms per turn (wall - server)")
    ax.set_title("Per-turn overhead, 20-turn trajectory, loopback server")
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    fig.tight_layout()
    fig.savefig(DOCS / f"bench-overhead{args.suffix}.png", dpi=100)

    since, until = args.conc_since or args.since, args.conc_until or args.until
    conc = [r for r in latest("concurrency") if "error" not in r and since <= r["at"] < until]
    if not conc:
        return
    # Several samples of a framework and size (`concurrency --rounds`): their medians.
    samples: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in conc:
        samples.setdefault((r["framework"], r["tasks"]), []).append(r)
    print("\n| framework | tasks x turns | latency ms | wall s (median) | wall s (all) | x ideal |"
          " KiB per task | peak RSS MiB | load |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    medians: dict[tuple[str, int], dict[str, Any]] = {}
    for (framework, tasks), rs in samples.items():
        walls = sorted(r["wall_seconds"] for r in rs)
        m = medians[framework, tasks] = {
            **rs[0],
            "wall_seconds": statistics.median(walls),
            "kb_per_task": statistics.median(r["kb_per_task"] for r in rs),
            "peak_rss_kb": statistics.median(r["peak_rss_kb"] for r in rs),
        }
        ideal = m["turns"] * m["latency_ms"] / 1000
        loads = [x for r in rs for x in (r["load_before"], r["load_after"])]
        print(f"| {framework} | {tasks} x {m['turns']} | {m['latency_ms']:g} |"
              f" {m['wall_seconds']:.2f} | {', '.join(f'{w:.2f}' for w in walls)} |"
              f" {m['wall_seconds'] / ideal:.2f} | {m['kb_per_task']:.0f} |"
              f" {m['peak_rss_kb'] / 1024:.0f} | {min(loads):.1f}-{max(loads):.1f} |")  # fmt: skip
    # the chart compares one size: --chart-tasks
    biggest = {f: m for (f, tasks), m in medians.items() if tasks == args.chart_tasks}
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    names = list(biggest)
    left.bar(names, [biggest[n]["wall_seconds"] for n in names])
    ideal = biggest[names[0]]["turns"] * biggest[names[0]]["latency_ms"] / 1000
    left.axhline(ideal, color="green", linestyle="--", label="ideal")
    left.axhline(ideal * 1.25, color="orange", linestyle=":", label="1.25 x ideal")
    left.set_ylabel("wall s")
    left.legend()
    left.set_title(f"wall time, {args.chart_tasks} tasks x 10 turns")
    left.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    right.bar(names, [biggest[n]["kb_per_task"] for n in names])
    right.set_ylabel("KiB per task in flight")
    right.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    right.set_title("memory per task in flight")
    fig.tight_layout()
    fig.savefig(DOCS / "bench-concurrency.png", dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    o = sub.add_parser("overhead")
    o.add_argument("--turns", type=int, default=20)
    o.add_argument("--repeat", type=int, default=10, help="timed conversations per process")
    o.add_argument("--rounds", type=int, default=3, help="processes per framework, interleaved")
    o.add_argument("--latency-ms", type=float, default=0.0)
    o.add_argument("--only", nargs="*")
    c = sub.add_parser("concurrency")
    c.add_argument("--tasks", type=int, nargs="+", default=[1000])
    c.add_argument("--turns", type=int, default=10)
    c.add_argument("--latency-ms", type=float, default=200.0)
    c.add_argument("--timeout-seconds", type=float, default=300.0)
    c.add_argument("--only", nargs="*")
    c.add_argument("--rounds", type=int, default=1, help="samples per framework, interleaved")
    ch = sub.add_parser("charts")
    ch.add_argument("--since", default="", help="only results recorded at or after this UTC time")
    ch.add_argument("--chart-tasks", type=int, default=100)
    ch.add_argument("--suffix", default="", help="appended to the overhead chart's name")
    ch.add_argument("--until", default="9", help="only results recorded before this UTC time")
    ch.add_argument("--conc-since", default="", help="--since for the concurrency results")
    ch.add_argument("--conc-until", default="", help="--until for the concurrency results")
    args = parser.parse_args()
    {"overhead": overhead, "concurrency": concurrency, "charts": charts}[args.mode](args)


if __name__ == "__main__":
    main()
