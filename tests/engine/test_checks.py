"""Checks on real test suites: every failing test named, output cut on lines, time kept."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest

from taskline.engine.check_output import cut_lines, describe_failures, failing_tests
from taskline.engine.review import FEEDBACK_TESTS_CHARS, run_checks
from taskline.models import Task
from taskline.tools import ToolContext, Workspace

FAILING = 54


def failing_project(root: Path) -> Path:
    """A stub whose `add` subtracts, and a unittest suite of 54 tests that all fail."""
    root.mkdir()
    (root / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    tests = [
        f"    def test_add_{i}(self):\n        self.assertEqual(add({i}, 1), {i + 1})\n"
        for i in range(FAILING)
    ]
    (root / "calc_test.py").write_text(
        "import unittest\nfrom calc import add\n\n\nclass T(unittest.TestCase):\n" + "".join(tests)
    )
    return root


def check(command: str, *, timeout_seconds: float = 60.0) -> Task:
    return Task(title="Fix add", checks=(command,), check_timeout_seconds=timeout_seconds)


def run(task: Task, root: Path) -> dict[str, object]:
    verdict = asyncio.run(run_checks(task, ToolContext(workspace=Workspace(root))))
    assert verdict is not None
    assert not verdict.approved
    [result] = verdict.details["checks"]
    assert isinstance(result, dict)
    return {"feedback": verdict.feedback, **result}


@pytest.mark.parametrize(
    ("runner", "command", "first_name"),
    [
        ("pytest", "-m pytest -q -p no:cacheprovider calc_test.py", "calc_test.py::T::test_add_0"),
        ("unittest", "-m unittest calc_test", "test_add_0 (calc_test.T.test_add_0)"),
    ],
)
def test_rework_feedback_names_every_failing_test_with_its_assertion(
    tmp_path: Path, runner: str, command: str, first_name: str
) -> None:
    root = failing_project(tmp_path / "project")
    task = check(f"{sys.executable} -B {command}")

    result = run(task, root)

    feedback = str(result["feedback"])
    assert feedback.split("\n")[0] == (
        f"1 of 1 checks failed: {sys.executable} -B {command}"
        f" (exit code 1, {FAILING} failing tests)"
    )
    assert f"\n\n$ {sys.executable} -B {command}\nexit code 1\n" in feedback
    assert f"\n{FAILING} failing tests ({runner}):\n" in feedback
    assert f"- {first_name}\n    AssertionError: -1 != 1\n" in feedback
    for i in range(FAILING):
        assert f"test_add_{i}" in feedback
        assert f"AssertionError: {i - 1} != {i + 1}" in feedback
    assert "\nOutput:\n" in feedback
    assert result["exit_code"] == 1
    assert result["ending"] == "exit code 1"
    assert isinstance(result["duration_seconds"], float)
    failing = result["failing_tests"]
    assert isinstance(failing, list)
    assert len(failing) == FAILING
    assert failing[0] == {"name": first_name, "lines": ["AssertionError: -1 != 1"]}


def test_a_check_past_its_timeout_is_killed_and_says_so(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    # Long enough for the sandbox to start and say so on a loaded machine.
    task = check("echo started; sleep 600", timeout_seconds=5)

    result = run(task, root)

    ending = "timed out after 5 seconds; the command and its child processes were killed"
    assert result["ending"] == ending
    assert str(result["feedback"]) == (
        f"1 of 1 checks failed: echo started; sleep 600 ({ending})\n\n"
        f"$ echo started; sleep 600\n{ending}\nOutput:\nstarted"
    )
    duration = result["duration_seconds"]
    assert isinstance(duration, float)
    assert 5 <= duration < 60


def test_cut_lines_keeps_whole_lines_of_head_and_tail_and_says_what_is_left_out() -> None:
    text = "\n".join(f"line {i:03}" for i in range(100))  # 8 characters and a newline a line

    cut = cut_lines(text, 100)

    assert cut.split("\n") == [
        *(f"line {i:03}" for i in range(4)),
        "[... 90 lines (810 characters) left out ...]",
        *(f"line {i:03}" for i in range(94, 100)),
    ]
    assert cut_lines(text, len(text)) == text


def test_a_huge_line_is_cut_within_itself() -> None:
    cut = cut_lines("a" * 1000 + "\nend", 600)

    assert cut == "a" * 120 + "[... 880 characters cut]\nend"


def test_failures_past_the_budget_are_named_without_their_assertions(tmp_path: Path) -> None:
    root = failing_project(tmp_path / "project")
    output = _real_output(root, "-m", "unittest", "calc_test")
    found = failing_tests(output)
    assert found is not None

    described = describe_failures(*found, max_chars=600)

    lines = described.split("\n")
    assert lines[0] == f"{FAILING} failing tests (unittest):"
    assert len(described) <= 600
    assert re.fullmatch(r"\[\.\.\. \d+ more not shown\]", lines[-1])
    assert len(describe_failures(*found, max_chars=FEEDBACK_TESTS_CHARS)) <= FEEDBACK_TESTS_CHARS


def test_output_of_something_else_is_no_test_report() -> None:
    assert failing_tests("make: *** [all] Error 1\n") is None


def _real_output(root: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-B", *args], cwd=root, capture_output=True, text=True, check=False
    )
    return done.stdout + done.stderr
