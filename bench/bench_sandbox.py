"""The sandbox's start-up cost per command: `true` run sandboxed and unsandboxed.

    .venv/bin/python bench/bench_sandbox.py [RUNS]

Each run goes through the real run_command tool; the figures are the
difference between the two, median and p99, in milliseconds. Target: < 15 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from taskline.tools import ToolContext, Workspace
from taskline.tools.sandbox import Sandbox, SandboxSettings
from taskline.tools.shell import RUN_COMMAND


async def durations_ms(context: ToolContext, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await RUN_COMMAND.run({"command": "true"}, context)
        times.append((time.perf_counter() - started) * 1000)
        assert not result.is_error, result.output
    return sorted(times)


def p99(values: list[float]) -> float:
    return values[min(len(values) - 1, round(0.99 * (len(values) - 1)))]


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        workspace = Workspace(Path(directory))
        sandboxed = ToolContext(workspace=workspace, sandbox=Sandbox())
        bare = ToolContext(workspace=workspace, sandbox=Sandbox(SandboxSettings(mode="none")))
        await durations_ms(sandboxed, 5)  # warm up: the first call checks bwrap works
        with_sandbox = await durations_ms(sandboxed, runs)
        without = await durations_ms(bare, runs)
    print(f"`true` run {runs} times through run_command, milliseconds")
    print(f"{'':12} {'median':>8} {'p99':>8}")
    for name, values in (("sandboxed", with_sandbox), ("unsandboxed", without)):
        print(f"{name:12} {statistics.median(values):8.2f} {p99(values):8.2f}")
    median_cost = statistics.median(with_sandbox) - statistics.median(without)
    print(f"{'cost':12} {median_cost:8.2f} {p99(with_sandbox) - p99(without):8.2f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
