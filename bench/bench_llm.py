"""Benchmark of the model layer (not a test).

1. Adapter overhead: the same call through `OpenAICompatModel` (and
   `AnthropicModel`) and through the bare SDK client, against one loopback
   provider server; the difference is what taskline adds per call (its own
   retry loop, reading the body itself, pricing).
2. Local model speed: output tokens per second of SmolLM2 in-process, free
   text and grammar-constrained tool calls.

    .venv/bin/python bench/bench_llm.py [--calls 500] [--local-runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from functools import partial

import anthropic
import openai

from taskline.llm import ToolDefinition, Usage, UserMessage
from taskline.llm.anthropic import AnthropicModel
from taskline.llm.openai_compat import OpenAICompatModel
from taskline.llm.pricing import PriceBook
from taskline.protocols import Model
from taskline.testing.provider_server import ProviderServer, Reply

USAGE = Usage(input_tokens=1200, output_tokens=80, cache_read_tokens=1024)
HELLO = [UserMessage(content="Say hello")]
WIRE_HELLO = [{"role": "user", "content": "Say hello"}]
WARM_UP_CALLS = 20


async def _timings_ms(call: Callable[[], Awaitable[object]], calls: int) -> list[float]:
    for _ in range(WARM_UP_CALLS):
        await call()
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _row(name: str, timings: list[float]) -> str:
    p95 = statistics.quantiles(timings, n=20)[18]
    return (
        f"  {name:<28} median {statistics.median(timings):6.3f} ms"
        f"   mean {statistics.fmean(timings):6.3f} ms   p95 {p95:6.3f} ms"
    )


async def bench_overhead(calls: int) -> None:
    with ProviderServer(default=Reply.text("Hello!", usage=USAGE)) as server:
        bare_openai = openai.AsyncOpenAI(
            base_url=server.openai_base_url, api_key="k", max_retries=0
        )
        ours_openai = OpenAICompatModel(
            "gpt-4o-mini",
            base_url=server.openai_base_url,
            api_key="k",
            genai_provider_id="openai",
            price_book=PriceBook(),
        )
        bare_anthropic = anthropic.AsyncAnthropic(
            base_url=server.anthropic_base_url, api_key="k", max_retries=0
        )
        ours_anthropic = AnthropicModel(
            "claude-sonnet-4-20250514",
            base_url=server.anthropic_base_url,
            api_key="k",
            genai_provider_id="anthropic",
            price_book=PriceBook(),
        )

        async def bare_openai_call() -> object:
            return await bare_openai.chat.completions.create(
                model="gpt-4o-mini",
                messages=WIRE_HELLO,  # type: ignore[arg-type]  # the TypedDict's shape
            )

        async def bare_anthropic_call() -> object:
            return await bare_anthropic.messages.create(
                model="claude-sonnet-4-20250514",
                max_tokens=4096,
                messages=WIRE_HELLO,  # type: ignore[arg-type]  # the TypedDict's shape
            )

        print(f"adapter overhead: {calls} sequential calls each, loopback server, keep-alive")
        pairs: list[tuple[str, Callable[[], Awaitable[object]], str, Model]] = [
            ("openai SDK, bare", bare_openai_call, "taskline OpenAICompatModel", ours_openai),
            ("anthropic SDK, bare", bare_anthropic_call, "taskline AnthropicModel", ours_anthropic),
        ]
        for bare_name, bare_call, ours_name, ours in pairs:
            bare = await _timings_ms(bare_call, calls)
            adapted = await _timings_ms(partial(ours.complete, HELLO), calls)
            print(_row(bare_name, bare))
            print(_row(ours_name, adapted))
            added = statistics.median(adapted) - statistics.median(bare)
            print(f"  {'added by taskline (median)':<28} {added:+.3f} ms per call")
        await bare_openai.close()
        await bare_anthropic.close()
        await ours_openai.aclose()
        await ours_anthropic.aclose()


async def bench_local(runs: int) -> None:
    try:
        from taskline.llm.local import LocalModel, load_runtime, smollm2_path

        runtime = load_runtime(smollm2_path())
    except Exception as exc:  # the local extra may be absent
        print(f"local model: skipped ({exc})")
        return
    threads = os.cpu_count() or 1  # load_runtime's default
    tool = ToolDefinition(
        name="write_file",
        description="Write text to a file.",
        parameters={
            "type": "object",
            "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
            "required": ["path", "content"],
        },
    )
    cases = [
        ("free text", LocalModel(runtime=runtime, max_output_tokens=128), [], "Tell a story."),
        (
            "constrained tool call",
            LocalModel(runtime=runtime, tool_choice="required", max_output_tokens=256),
            [tool],
            "Write a poem about the sea into poem.txt.",
        ),
    ]
    print(f"local model (SmolLM2-135M Q4_1, {threads} threads, {runs} runs each after one warm-up)")
    for name, model, tools, prompt in cases:
        await model.complete([UserMessage(content=prompt)], tools)
        tokens, seconds = 0, 0.0
        for _ in range(runs):
            started = time.perf_counter()
            response = await model.complete([UserMessage(content=prompt)], tools)
            seconds += time.perf_counter() - started
            tokens += response.usage.output_tokens
        print(
            f"  {name:<24} {tokens / seconds:6.1f} output tokens/s"
            f"   ({tokens / runs:.0f} tokens, {seconds / runs * 1000:.0f} ms per call)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=500, help="calls per client (default 500)")
    parser.add_argument("--local-runs", type=int, default=5, help="local calls per case")
    args = parser.parse_args()
    asyncio.run(bench_overhead(args.calls))
    asyncio.run(bench_local(args.local_runs))


if __name__ == "__main__":
    main()
