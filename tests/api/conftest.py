"""An app on the `tl` store (SQLite and PostgreSQL), with the scripted model, and a client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from taskline import Taskline
from taskline.api import create_app
from taskline.llm.scripted import ScriptedModel
from taskline.protocols import Model
from tests.api.helpers import AUTH, TOKEN, greeting


@pytest.fixture
def served(tl: Taskline, tmp_path: Path) -> Taskline:
    """`tl` with its home in the test's directory and a model that writes hello.txt."""
    tl.home = tmp_path / "home"

    def factory(_ref: str) -> Model:
        return ScriptedModel(greeting())

    tl.model_factory = factory
    return tl


@pytest.fixture
def app(served: Taskline) -> FastAPI:
    return create_app(served, token=TOKEN)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client sending the token; inside `with`, so runs started in the background go on."""
    with TestClient(app, headers=AUTH) as client:
        yield client
