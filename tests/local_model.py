"""Whether the embedded local model can run here, for the tests that need it."""

from __future__ import annotations

import os

import pytest

from taskline.errors import ModelReferenceError


def require_local_model() -> None:
    """Skip, saying what is missing, when the local model cannot run here; in CI, fail.

    `make test` installs the `local` extra and fetches the model file, so in CI a
    missing piece is a broken install, not a reason to skip.
    """
    from taskline.llm.local import smollm2_path

    try:
        smollm2_path()
    except ModelReferenceError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the local model must run in CI: {exc}")
        pytest.skip(str(exc))
