"""Fixtures for the model adapters: a loopback provider and the local model, loaded once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from taskline.llm.retry import RetryPolicy
from taskline.testing.provider_server import ProviderServer
from tests.local_model import require_local_model

if TYPE_CHECKING:  # xllamacpp may be absent: the local tests then skip
    from taskline.llm.local import LocalRuntime

# Retries in tests wait a few milliseconds, not the production half second.
FAST_RETRY = RetryPolicy(max_attempts=3, timeout_seconds=2.0, base_delay_seconds=0.01)


@pytest.fixture
def anyio_backend() -> str:
    """The adapters use asyncio.timeout, so tests run on asyncio."""
    return "asyncio"


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    """A fresh loopback provider for each test."""
    with ProviderServer() as provider:
        yield provider


@pytest.fixture(scope="session")
def local_runtime() -> LocalRuntime:
    """SmolLM2 loaded once for the whole session."""
    require_local_model()
    from taskline.llm.local import load_runtime, smollm2_path

    return load_runtime(smollm2_path())
