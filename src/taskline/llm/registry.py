"""From a model reference, such as `openai:gpt-4o-mini`, to a model.

    openai:MODEL      OpenAI, or whatever OPENAI_BASE_URL points at (key: OPENAI_API_KEY)
    anthropic:MODEL   Anthropic (key: ANTHROPIC_API_KEY, base URL: ANTHROPIC_BASE_URL)
    local:smollm2     the embedded SmolLM2-135M-Instruct (needs the `local` extra)
    scripted:PATH     responses played back from a JSON file
    NAME:MODEL        MODEL at the endpoint declared as `[endpoints.NAME]` in taskline.toml

Adapters are imported when first needed: the SDKs take a while to load, and
most commands never call a model.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from taskline.errors import ModelReferenceError
from taskline.llm.pricing import DEFAULT_PRICE_BOOK, PriceBook, TokenPrices, genai_prices_cost
from taskline.llm.retry import RetryPolicy
from taskline.llm.types import Usage
from taskline.protocols import Model

BUILT_IN = ("openai", "anthropic", "local", "scripted")
LOCAL_MODELS = ("smollm2",)


class EndpointConfig(BaseModel):
    """One `[endpoints.NAME]` table: a provider endpoint that model references can name."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    kind: Literal["openai", "anthropic"]
    """The API it speaks: `openai` (chat completions) or `anthropic` (messages)."""
    base_url: str = Field(min_length=1)
    """Where it is, e.g. `https://openrouter.ai/api/v1` or `http://127.0.0.1:8080/v1`."""
    api_key_env: str | None = None
    """Name of the environment variable that holds the key; None for servers that need none."""
    prices: TokenPrices | None = None
    """Prices to use when neither the endpoint nor genai-prices knows the model's price."""
    max_attempts: int = Field(default=3, ge=1, le=20)
    """Attempts per call, the first included; 429, 5xx, timeouts and dropped connections retry."""
    timeout_seconds: float = Field(default=120.0, gt=0)
    """Limit for one attempt, from sending the request to reading the whole answer."""

    def retry_policy(self) -> RetryPolicy:
        """The retry policy these settings describe."""
        return RetryPolicy(max_attempts=self.max_attempts, timeout_seconds=self.timeout_seconds)


def resolve_model(
    ref: str,
    endpoints: Mapping[str, EndpointConfig] | None = None,
    *,
    env: Mapping[str, str] = os.environ,
    retry: RetryPolicy | None = None,
    price_book: PriceBook = DEFAULT_PRICE_BOOK,
) -> Model:
    """The model `ref` names; `ModelReferenceError` when there is none.

    `endpoints` are the `[endpoints.NAME]` tables of the config; `env` is where
    their `api_key_env` variables are looked up. `retry` applies to `openai:`
    and `anthropic:`; endpoints carry their own settings.
    """
    prefix, sep, name = ref.partition(":")
    if not sep or not prefix or not name:
        raise ModelReferenceError(ref, "expected PROVIDER:MODEL, e.g. openai:gpt-4o-mini")
    endpoints = endpoints or {}
    if prefix in BUILT_IN and prefix in endpoints:
        raise ModelReferenceError(ref, f"{prefix!r} is built in; give the endpoint another name")
    if prefix == "openai":
        from taskline.llm.openai_compat import OpenAICompatModel

        return OpenAICompatModel(
            name, retry=retry, genai_provider_id="openai", price_book=price_book
        )
    if prefix == "anthropic":
        from taskline.llm.anthropic import AnthropicModel

        return AnthropicModel(
            name, retry=retry, genai_provider_id="anthropic", price_book=price_book
        )
    if prefix == "local":
        return _local(ref, name)
    if prefix == "scripted":
        from taskline.llm.scripted import ScriptedModel

        return ScriptedModel.from_file(Path(name))
    if prefix in endpoints:
        return _at_endpoint(prefix, name, endpoints[prefix], env, price_book)
    known = ", ".join([*BUILT_IN, *sorted(endpoints)])
    raise ModelReferenceError(
        ref,
        f"no provider or endpoint {prefix!r}; known: {known} (declare endpoints in taskline.toml)",
    )


ADAPTER_MODULES = {
    "openai": "taskline.llm.openai_compat",
    "anthropic": "taskline.llm.anthropic",
}


def load_adapters(
    refs: Iterable[str], endpoints: Mapping[str, EndpointConfig] | None = None
) -> None:
    """Import the adapters and the price table that calls of the models `refs` will need.

    For a long-lived process about to make those calls (a worker): imported at the
    first call instead, the SDKs cost that run a second or more of CPU, counted in its
    duration. References that name nothing known are left to fail at their run.
    """
    endpoints = endpoints or {}
    probe = Usage(input_tokens=1, output_tokens=1)
    for ref in set(refs):
        prefix, _, name = ref.partition(":")
        endpoint = endpoints.get(prefix)
        kind = prefix if endpoint is None else endpoint.kind
        if kind in ADAPTER_MODULES:
            importlib.import_module(ADAPTER_MODULES[kind])
            # The lookup an answer's price makes: loads genai-prices' table once.
            if endpoint is None:
                genai_prices_cost(probe, name, provider_id=prefix, api_url=None)
            else:
                genai_prices_cost(probe, name, provider_id=None, api_url=endpoint.base_url)


def price_known(ref: str, endpoints: Mapping[str, EndpointConfig] | None = None) -> bool | None:
    """Whether calls of the model `ref` names can be priced before any is made.

    True when genai-prices lists the model, its endpoint has `prices`, or it is
    the local model (free); False when none of these holds; None when only the
    answers will tell (scripted models, references that name nothing known).
    """
    prefix, _, name = ref.partition(":")
    probe = Usage(input_tokens=1, output_tokens=1)
    if prefix == "local":
        return True
    if prefix in ("openai", "anthropic"):
        return genai_prices_cost(probe, name, provider_id=prefix, api_url=None) is not None
    config = (endpoints or {}).get(prefix)
    if config is None:
        return None
    if config.prices is not None:
        return True
    return genai_prices_cost(probe, name, provider_id=None, api_url=config.base_url) is not None


def _local(ref: str, name: str) -> Model:
    if name not in LOCAL_MODELS:
        raise ModelReferenceError(
            ref, f"no local model {name!r}; available: {', '.join(LOCAL_MODELS)}"
        )
    from taskline.llm.local import LocalModel, smollm2_path

    smollm2_path()  # fail now, not at the first call, when the extra is not installed
    return LocalModel(name)


def _at_endpoint(
    endpoint: str, model: str, config: EndpointConfig, env: Mapping[str, str], book: PriceBook
) -> Model:
    api_key = "none"  # the SDKs insist on a key; servers that need none ignore it
    if config.api_key_env is not None:
        api_key = env.get(config.api_key_env, "")
        if not api_key:
            raise ModelReferenceError(
                f"{endpoint}:{model}",
                f"endpoint {endpoint!r} reads its key from ${config.api_key_env}, which is not set",
            )
    if config.kind == "openai":
        from taskline.llm.openai_compat import OpenAICompatModel

        return OpenAICompatModel(
            model,
            provider=endpoint,
            base_url=config.base_url,
            api_key=api_key,
            retry=config.retry_policy(),
            config_prices=config.prices,
            price_book=book,
        )
    from taskline.llm.anthropic import AnthropicModel

    return AnthropicModel(
        model,
        provider=endpoint,
        base_url=config.base_url,
        api_key=api_key,
        retry=config.retry_policy(),
        config_prices=config.prices,
        price_book=book,
    )
