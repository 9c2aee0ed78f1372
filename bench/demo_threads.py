"""How `taskline demo` ends with the local model on each thread count it may use.

A greedy answer of llama.cpp depends on the thread count (its sums run in
another order), and the local model uses one thread per core up to
`MAX_THREADS`: the demo must complete on every count from 1 to that. Each count
runs in a process of its own; prints its status, wall time and tool calls.

    python bench/demo_threads.py            # 1 .. MAX_THREADS
    python bench/demo_threads.py 1 8        # these counts
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

from taskline.llm.local import MAX_THREADS

# The child: the demo, with the model loaded on the given thread count.
PINNED = """
import functools, sys
import taskline.llm.local as local
from taskline.cli import main

load = local.load_runtime.__wrapped__
threads = int(sys.argv[1])
local.load_runtime = functools.cache(lambda path, _threads=None: load(path, threads))
sys.argv = ["taskline", "demo"]
main()
"""


def run_demo(threads: int) -> tuple[int, float, list[str]]:
    """The demo's exit code, wall seconds and tool calls on `threads` threads."""
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", PINNED, str(threads)],
        capture_output=True,
        text=True,
        check=False,
    )
    calls = re.findall(r"turn \d+\s+[✓x] (.*)", child.stdout)
    return child.returncode, time.perf_counter() - started, calls


def main() -> int:
    counts = [int(arg) for arg in sys.argv[1:]] or list(range(1, MAX_THREADS + 1))
    failed = 0
    for threads in counts:
        code, seconds, calls = run_demo(threads)
        failed += code != 0
        status = "COMPLETED" if code == 0 else f"FAILED (exit {code})"
        print(f"{threads} threads: {status} in {seconds:.1f} s; calls: {'; '.join(calls)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
