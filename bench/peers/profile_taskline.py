"""Where taskline's per-turn time goes: pyinstrument over the timed runs only.

    .venv-peers/bin/python -m bench.peers.profile_taskline [--repeat 10] [--postgres]
    .venv-peers/bin/python -m bench.peers.profile_taskline --concurrent 50

Starts the loopback server, warms taskline up (imports, DBOS launch, the first
run), then profiles `--repeat` 20-turn runs one after another (server latency 0),
or `--concurrent` 10-turn runs at once (latency 200 ms), and prints
pyinstrument's tree (library frames folded) and its flat list of the costliest
functions.
Writes the HTML tree to /tmp/taskline-profile.html.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from bench.peers.child import TasklineBench, database
from bench.peers.frameworks import write_notes
from bench.peers.run import server
from pyinstrument import Profiler  # type: ignore[import-not-found,unused-ignore]

TURNS = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--concurrent", type=int, default=0)
    args = parser.parse_args()
    framework = "taskline-postgres" if args.postgres else "taskline"
    turns = 10 if args.concurrent else TURNS
    with (
        server(200.0 if args.concurrent else 0.0) as base_url,
        tempfile.TemporaryDirectory() as tmp,
        database(framework) as url,
    ):
        workspace = Path(tmp) / "ws"
        write_notes(workspace, turns)
        bench = TasklineBench(base_url, turns, workspace, Path(tmp) / "home", url)
        for _ in range(2):
            bench.run(bench.new_task())
        ids = [bench.new_task() for _ in range(args.concurrent or args.repeat)]
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        with profiler:
            if args.concurrent:
                asyncio.run(bench.run_many(ids))
            else:
                for task_id in ids:
                    bench.run(task_id)
    session = profiler.last_session
    assert session is not None
    print(profiler.output_text(color=False, show_all=False, timeline=False))
    print(profiler.output_text(color=False, flat=True, show_all=True)[:6000])
    Path("/tmp/taskline-profile.html").write_text(profiler.output_html())


if __name__ == "__main__":
    main()
