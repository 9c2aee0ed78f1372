"""Model references resolve to the right adapter, or to one clear error."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from taskline.errors import ConfigError, ModelReferenceError, ProviderError
from taskline.llm import UserMessage
from taskline.llm.anthropic import AnthropicModel
from taskline.llm.openai_compat import OpenAICompatModel
from taskline.llm.pricing import TokenPrices
from taskline.llm.registry import EndpointConfig, resolve_model
from taskline.llm.retry import RetryPolicy
from taskline.llm.scripted import ScriptedModel
from taskline.testing.provider_server import ProviderServer, Reply
from tests.local_model import require_local_model

ROUTER = EndpointConfig(
    kind="openai",
    base_url="https://openrouter.ai/api/v1",
    api_key_env="ROUTER_KEY",
    max_attempts=5,
    timeout_seconds=30,
)


def test_openai_reference_leaves_url_and_key_to_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")

    model = resolve_model("openai:gpt-4o-mini")

    assert isinstance(model, OpenAICompatModel)
    assert (model.provider, model.model, model.base_url) == (
        "openai",
        "gpt-4o-mini",
        "http://127.0.0.1:9/v1/",
    )


def test_openai_without_a_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    with pytest.raises(ModelReferenceError) as caught:
        resolve_model("openai:gpt-4o-mini")

    assert caught.value.ref == "openai:gpt-4o-mini"
    assert str(caught.value).startswith("model 'openai:gpt-4o-mini': Missing credentials.")
    assert isinstance(caught.value, ConfigError)


def test_anthropic_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")

    model = resolve_model("anthropic:claude-sonnet-4-5")

    assert isinstance(model, AnthropicModel)
    assert (model.provider, model.model, model.base_url) == (
        "anthropic",
        "claude-sonnet-4-5",
        "https://api.anthropic.com",
    )


def test_declared_endpoint_with_key_from_the_environment() -> None:
    model = resolve_model("router:openai/gpt-4o-mini", {"router": ROUTER}, env={"ROUTER_KEY": "k"})

    assert isinstance(model, OpenAICompatModel)
    assert (model.provider, model.model, model.base_url) == (
        "router",
        "openai/gpt-4o-mini",
        "https://openrouter.ai/api/v1/",
    )


def test_declared_endpoint_whose_key_is_missing() -> None:
    with pytest.raises(ModelReferenceError) as caught:
        resolve_model("router:openai/gpt-4o-mini", {"router": ROUTER}, env={})

    assert str(caught.value) == (
        "model 'router:openai/gpt-4o-mini': endpoint 'router' reads its key from $ROUTER_KEY,"
        " which is not set"
    )


@pytest.mark.anyio
async def test_declared_endpoint_uses_its_retry_settings_and_prices(
    server: ProviderServer,
) -> None:
    config = EndpointConfig(
        kind="anthropic",
        base_url=server.anthropic_base_url,
        max_attempts=2,
        timeout_seconds=5,
        prices=TokenPrices(input_usd_per_mtok=Decimal("1"), output_usd_per_mtok=Decimal("2")),
    )
    server.enqueue(Reply.error(503), Reply.error(503), Reply.text("never"))
    model = resolve_model("house:claude-house", {"house": config})

    with pytest.raises(
        ProviderError, match=r"^house:claude-house failed after 2 attempts: HTTP 503"
    ):
        await model.complete([UserMessage(content="hi")])
    await model.aclose()

    assert server.requests[0].headers["authorization"] == "Bearer none"
    assert config.retry_policy() == RetryPolicy(max_attempts=2, timeout_seconds=5)


def test_endpoint_config_reads_like_the_toml_table() -> None:
    config = EndpointConfig.model_validate(
        {
            "kind": "openai",
            "base_url": "http://127.0.0.1:8080/v1",
            "prices": {"input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0.6},
        }
    )

    assert config.prices == TokenPrices(
        input_usd_per_mtok=Decimal("0.15"), output_usd_per_mtok=Decimal("0.6")
    )
    assert (config.api_key_env, config.max_attempts, config.timeout_seconds) == (None, 3, 120.0)


def test_endpoint_config_is_strict() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        EndpointConfig.model_validate({"kind": "openai", "base_url": "http://x", "retries": 3})
    with pytest.raises(ValidationError, match="Input should be 'openai' or 'anthropic'"):
        EndpointConfig.model_validate({"kind": "gemini", "base_url": "http://x"})


def test_scripted_reference_reads_the_file(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"text": "hi"}]))

    model = resolve_model(f"scripted:{script}")

    assert isinstance(model, ScriptedModel)
    assert model.remaining == 1


def test_local_reference() -> None:
    require_local_model()
    from taskline.llm.local import LocalModel

    model = resolve_model("local:smollm2")

    assert isinstance(model, LocalModel)
    assert (model.provider, model.model) == ("local", "smollm2")


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("gpt-4o", "model 'gpt-4o': expected PROVIDER:MODEL, e.g. openai:gpt-4o-mini"),
        ("openai:", "model 'openai:': expected PROVIDER:MODEL, e.g. openai:gpt-4o-mini"),
        ("local:llama3", "model 'local:llama3': no local model 'llama3'; available: smollm2"),
        (
            "nowhere:m",
            "model 'nowhere:m': no provider or endpoint 'nowhere';"
            " known: openai, anthropic, local, scripted, router (declare endpoints in taskline.toml)",
        ),
        (
            "scripted:/no/such/file.json",
            "model 'scripted:/no/such/file.json': cannot read the script: No such file or directory",
        ),
    ],
)
def test_bad_references(ref: str, message: str) -> None:
    with pytest.raises(ModelReferenceError) as caught:
        resolve_model(ref, {"router": ROUTER})

    assert str(caught.value) == message


def test_endpoint_may_not_take_a_built_in_name() -> None:
    with pytest.raises(ModelReferenceError) as caught:
        resolve_model("openai:gpt-4o", {"openai": ROUTER})

    assert str(caught.value) == (
        "model 'openai:gpt-4o': 'openai' is built in; give the endpoint another name"
    )


LOADED_AFTER = """
import json, sys
from taskline.llm.registry import EndpointConfig, load_adapters
before = set(sys.modules)
endpoints = {"claude": EndpointConfig(kind="anthropic", base_url="http://127.0.0.1:9/")}
load_adapters(json.loads(sys.argv[1]), endpoints)
wanted = ["taskline.llm.openai_compat", "taskline.llm.anthropic", "genai_prices.data"]
print(json.dumps([name for name in wanted if name in set(sys.modules) - before]))
"""


@pytest.mark.parametrize(
    ("refs", "loaded"),
    [
        (["claude:m", "claude:n"], ["taskline.llm.anthropic", "genai_prices.data"]),
        (["openai:gpt-4o-mini"], ["taskline.llm.openai_compat", "genai_prices.data"]),
        (["nowhere:m", "scripted:/no/such/file.json", "gpt-4o"], []),
    ],
)
def test_load_adapters_imports_what_the_calls_of_those_models_need(
    refs: list[str], loaded: list[str]
) -> None:
    """In a fresh interpreter: the adapter of each model's kind and the price table, no
    more; references that name nothing known load nothing and raise nothing."""
    result = subprocess.run(
        [sys.executable, "-c", LOADED_AFTER, json.dumps(refs)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip

    assert json.loads(result.stdout) == loaded
