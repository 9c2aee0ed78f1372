"""A new user's first minutes: `make demo` (and optionally `make test`) from a clean clone.

Clones the repository's HEAD into a temporary directory and runs the make
targets there with an empty pip cache and an empty model cache, as on a fresh
machine. Prints the wall time of each target and the longest stretch without a
line of output (the terminal a new user stares at). Output is read from a pipe,
so progress bars and spinners, which only animate on a terminal, do not count.

    python bench/first_run.py             # make demo
    python bench/first_run.py --test      # then the install of `make test`, and `make test`
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Timed:
    """How one make target went."""

    target: str
    seconds: float
    exit_code: int
    longest_silence_seconds: float
    silent_after: str
    """The last line printed before the longest silence."""


def run(target: str, clone: Path, env: dict[str, str]) -> Timed:
    started = last = time.monotonic()
    longest, silent_after, previous = 0.0, "(start)", "(start)"
    with subprocess.Popen(
        ["make", "--no-print-directory", target],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            now = time.monotonic()
            if now - last > longest:
                longest, silent_after = now - last, previous
            last, previous = now, line.rstrip()[:120]
            print(f"{now - started:7.1f}s | {line.rstrip()}", flush=True)
    end = time.monotonic()
    if end - last > longest:
        longest, silent_after = end - last, previous
    return Timed(target, end - started, process.returncode, longest, silent_after)


def fresh_machine(scratch: Path) -> tuple[Path, dict[str, str]]:
    """A clean clone, and an environment whose pip and model caches are empty."""
    clone = scratch / "taskline"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {
        **os.environ,
        "PIP_CACHE_DIR": str(scratch / "pip-cache"),  # empty: every wheel is downloaded
        "XDG_CACHE_HOME": str(scratch / "cache"),  # empty: the model file is fetched
    }
    for inherited in ("TASKLINE_MODELS_DIR", "VIRTUAL_ENV"):
        env.pop(inherited, None)
    return clone, env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test", action="store_true", help="also time make test")
    parser.add_argument("--keep", action="store_true", help="keep the clone")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="taskline-first-run-"))
    results = [run("demo", *fresh_machine(scratch / "demo"))]
    if args.test:
        clone, env = fresh_machine(scratch / "test")
        results.append(run(".venv/.installed-dev", clone, env))
        results.append(run("test", clone, env))
    print()
    for result in results:
        print(
            f"make {result.target}: {result.seconds:.1f} s, exit {result.exit_code};"
            f" longest silence {result.longest_silence_seconds:.1f} s"
            f" after: {result.silent_after!r}"
        )
    # `taskline demo` exits 0 only when its task ended COMPLETED
    print(f"demo task COMPLETED: {results[0].exit_code == 0}")
    if not args.keep:
        subprocess.run(["rm", "-rf", str(scratch)], check=False)
    else:
        print(f"kept: {scratch}")
    sys.exit(0 if all(r.exit_code == 0 for r in results) else 1)


if __name__ == "__main__":
    main()
