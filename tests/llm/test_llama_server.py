"""End to end: llama.cpp's own OpenAI-compatible HTTP server, reached through `openai:`.

The server is llama.cpp's C++ server as xllamacpp builds it (cpp-httplib,
llama.cpp's chat templates and tool-call grammar), listening on loopback: the
same server a user starts with `llama-server`, not one of ours.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from taskline.llm import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolDefinition,
    ToolResultMessage,
    UserMessage,
)
from taskline.llm.openai_compat import OpenAICompatModel
from taskline.llm.pricing import PriceBook
from taskline.llm.retry import RetryPolicy
from taskline.testing.ports import free_port
from tests.local_model import require_local_model

WEATHER = ToolDefinition(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """llama.cpp's server with the SmolLM2 file on 127.0.0.1; its base URL."""
    require_local_model()
    from xllamacpp import CommonParams, Server

    from taskline.llm.local import smollm2_path

    params = CommonParams()
    params.model.path = str(smollm2_path())
    params.n_ctx = 2048
    params.n_parallel = 1
    # One thread, as the session's local model (tests/llm/conftest.py says why).
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = 1
    params.n_predict = 128  # a rambling answer ends here, not at the end of the context
    params.use_jinja = True  # the chat template from the GGUF, and llama.cpp's tool calls
    params.verbosity = -1
    params.ui = False
    params.hostnames = ["127.0.0.1"]
    params.port = free_port()
    server = Server(params)  # answers once this returns: the model is loaded by then
    try:
        assert server.listening_address == f"http://127.0.0.1:{params.port}"
        yield f"{server.listening_address}/v1"
    finally:
        del server  # its destructor stops the HTTP server and frees the model
        gc.collect()


@pytest.mark.anyio
async def test_a_tool_round_trip_through_the_openai_adapter(llama_server: str) -> None:
    """The adapter's wire format for tools, tool calls and their results, as a real server reads it.

    SmolLM2's chat template has no tools section, and llama.cpp does not force a
    tool call for such a template, so the answer is text (the local adapter forces
    tool calls with its own schema instead); what is proven here is that the
    server accepts every message shape the adapter sends and the adapter reads
    what the server answers, usage included.
    """
    model = OpenAICompatModel(
        "smollm2",
        base_url=llama_server,
        api_key="unused",
        retry=RetryPolicy(max_attempts=1, timeout_seconds=60),
        price_book=PriceBook(),
    )
    conversation: list[Message] = [
        SystemMessage(content="You report the weather in one short sentence."),
        UserMessage(content="What is the weather in Paris?"),
        AssistantMessage(
            tool_calls=(ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"}),)
        ),
        ToolResultMessage(tool_call_id="call_1", name="get_weather", content="18 C, sunny"),
    ]

    response = await model.complete(conversation, [WEATHER])
    await model.aclose()

    assert response.tool_calls == ()
    assert response.text.strip() != ""
    assert response.finish_reason in ("stop", "length")
    assert response.provider_finish_reason == response.finish_reason
    assert response.usage.input_tokens > 40  # the system prompt, the call and its result
    assert 0 < response.usage.output_tokens
    # a loopback server is no provider genai-prices knows, and no prices were configured
    assert (response.cost_usd, response.price_source) == (None, "unknown")
    assert (response.attempts, response.provider, response.model) == (1, "openai", "smollm2")
