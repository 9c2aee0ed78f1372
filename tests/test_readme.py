"""The README's Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"


def test_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    [example] = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    exec(compile(example, str(README), "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "('IN_PROGRESS', 'BLOCKED', 'CANCELLED')"
    assert [line.split()[:3] for line in lines[1:]] == [
        ["None", "->", "CREATED"],
        ["CREATED", "->", "ASSIGNED"],
    ]
