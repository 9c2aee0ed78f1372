"""Every test here runs real commands in a real bubblewrap sandbox; CI must be able to make one."""

from __future__ import annotations

import os
import shutil

import pytest

from taskline.tools.sandbox import sandbox_problem


@pytest.fixture(autouse=True)
def _real_sandbox() -> None:
    problem = sandbox_problem(shutil.which("bwrap"))
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"the sandbox tests must run in CI, but {problem}")
    pytest.skip(f"no sandbox here: {problem}")
