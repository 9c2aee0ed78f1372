"""Framework time per turn: what taskline adds on top of the model.

    .venv/bin/python bench/bench_engine.py [--turns 20] [--repeat 5]

Each run is one task of `--turns` turns: every turn asks for one `read_file`
of a small file (a different one each time, or it would be stagnation), the
last calls `submit_work`. The task then goes through
review (no checks: automatic approval) and its metrics are stored. Framework
time per turn = (wall time of `run_task` - model time) / turns, where model time
is the sum of the calls' latencies as the cost records give them.

Measured with the scripted model (model time ~0) and with the `openai:`
adapter against the loopback provider server, on SQLite and on a durable
PostgreSQL (fsync on).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from taskline import Taskline
from taskline.llm.openai_compat import OpenAICompatModel
from taskline.llm.scripted import ScriptedModel, ScriptedResponse
from taskline.llm.types import ToolCall, Usage
from taskline.protocols import Model
from taskline.store import SqlStore
from taskline.testing.postgres import throwaway_postgres
from taskline.testing.provider_server import ProviderServer, Reply

USAGE = Usage(input_tokens=500, output_tokens=20)


def scripted_turns(turns: int) -> list[ScriptedResponse]:
    reads = [
        ScriptedResponse.model_validate(
            {
                "tool_calls": [{"name": "read_file", "arguments": {"path": f"notes-{i}.txt"}}],
                "usage": USAGE,
                "cost_usd": "0.0001",
            }
        )  # fmt: skip
        for i in range(turns - 1)
    ]
    submit = ScriptedResponse.model_validate(
        {"tool_calls": [{"name": "submit_work", "arguments": {"summary": "read it"}}],
         "usage": USAGE, "cost_usd": "0.0001"}
    )  # fmt: skip
    return [*reads, submit]


def scripted_factory(turns: int) -> Callable[[str], Model]:
    """A factory handing out one fresh scripted model of `turns` turns."""
    model = ScriptedModel(scripted_turns(turns))
    return lambda _ref: model


def server_replies(turns: int) -> list[Reply]:
    submit = ToolCall(id="s", name="submit_work", arguments={"summary": "read it"})
    return [
        *(
            Reply.tool_calls(
                ToolCall(id=f"c{i}", name="read_file", arguments={"path": f"notes-{i}.txt"}),
                usage=USAGE,
            )
            for i in range(turns - 1)
        ),
        Reply.tool_calls(submit, usage=USAGE),
    ]


def per_turn_ms(
    tl: Taskline, workdir: Path, turns: int, factory: Callable[[str], Model]
) -> tuple[float, float]:
    """(framework ms per turn, model ms per turn) of one task."""
    workspace = workdir / f"ws-{time.perf_counter_ns()}"
    workspace.mkdir()
    for i in range(turns):
        (workspace / f"notes-{i}.txt").write_text("a small file\n")
    tl.model_factory = factory
    task = tl.create_task("bench", workspace=workspace, max_turns=turns + 1)
    tl.assign(task.id, "bench")
    started = time.perf_counter()
    done = tl.run_task(task.id)
    wall_ms = (time.perf_counter() - started) * 1000
    assert done.status.value == "COMPLETED", done
    model_ms = sum(r.latency_ms for r in tl.cost_records(task.id))
    return (wall_ms - model_ms) / turns, model_ms / turns


def stores(workdir: Path) -> Iterator[tuple[str, Taskline]]:
    for name in ("sqlite", "postgresql"):
        if name == "sqlite":
            url = f"sqlite:///{workdir / 'bench.db'}"
            with Taskline(SqlStore.open(url), actor="user:bench", home=workdir) as tl:
                tl.add_agent("bench", model="bench:x")
                yield name, tl
        else:
            with throwaway_postgres(durable=True) as server:
                url = server.create_database("bench")
                with Taskline(SqlStore.open(url), actor="user:bench", home=workdir) as tl:
                    tl.add_agent("bench", model="bench:x")
                    yield name, tl


def report(label: str, samples: list[tuple[float, float]]) -> None:
    framework = [s[0] for s in samples]
    model = statistics.median(s[1] for s in samples)
    spread = f"{min(framework):.2f}-{max(framework):.2f}"
    print(
        f"{label:28s} framework {statistics.median(framework):6.2f} ms/turn"
        f" (range {spread}, n={len(samples)})   model {model:6.2f} ms/turn"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="loopback server latency")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ProviderServer(latency_ms=args.latency_ms) as srv:
        workdir = Path(tmp)
        for name, tl in stores(workdir):
            samples = []
            for _ in range(args.repeat):
                samples.append(per_turn_ms(tl, workdir, args.turns, scripted_factory(args.turns)))
            report(f"{name} / scripted model", samples)
            samples = []
            for _ in range(args.repeat):
                srv.enqueue(*server_replies(args.turns))
                samples.append(
                    per_turn_ms(
                        tl,
                        workdir,
                        args.turns,
                        lambda _r: OpenAICompatModel(
                            "gpt-4o-mini", base_url=srv.openai_base_url, api_key="k"
                        ),
                    )  # fmt: skip
                )
            report(f"{name} / openai: loopback", samples)


if __name__ == "__main__":
    main()
