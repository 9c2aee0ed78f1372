"""End to end: llama-cpp-python's own OpenAI-compatible server, reached through `openai:`."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskline.llm import RetryPolicy, ToolCall, ToolDefinition, UserMessage
from taskline.llm.openai_compat import OpenAICompatModel
from taskline.llm.pricing import PriceBook
from taskline.testing.ports import free_port

from .conftest import require_local_model

STARTUP_SECONDS = 60.0
WEATHER = ToolDefinition(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/v1/models", timeout=1):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    pytest.fail(f"llama_cpp.server did not answer within {STARTUP_SECONDS:g}s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` with the SmolLM2 file, on loopback; its base URL."""
    require_local_model()
    if importlib.util.find_spec("uvicorn") is None:
        pytest.skip("llama-cpp-python's server extra is not installed (llama-cpp-python[server])")
    from taskline.llm.local import smollm2_path

    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path())]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield f"{url}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.anyio
async def test_tool_call_through_the_openai_adapter(llama_server: str) -> None:
    model = OpenAICompatModel(
        "smollm2",
        base_url=llama_server,
        api_key="unused",
        retry=RetryPolicy(max_attempts=1, timeout_seconds=60),
        price_book=PriceBook(),
        # llama-cpp-python's server constrains the arguments only for a named tool
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )

    response = await model.complete(
        [UserMessage(content="What is the weather in Paris?")], [WEATHER]
    )
    await model.aclose()

    [call] = response.tool_calls
    assert call.name == "get_weather"
    assert set(call.arguments) == {"city"}
    assert isinstance(call.arguments["city"], str)
    assert call.id != ""
    assert response.finish_reason == "tool_calls"
    assert response.usage.input_tokens > 0
    assert response.usage.output_tokens > 0
    # a loopback server is no provider genai-prices knows, and no prices were configured
    assert (response.cost_usd, response.price_source) == (None, "unknown")
    assert (response.attempts, response.provider) == (1, "openai")
    assert isinstance(call, ToolCall)
