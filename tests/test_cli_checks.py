"""A task whose checks fail, from the command line: one line on failure, all of it in `show`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from typer.testing import CliRunner

from tests.engine.test_checks import FAILING, failing_project
from tests.test_cli_work import add_agent, cli, invoke, run_task, show, submit, write_script

__all__ = ["cli"]  # the fixture, used by name


def test_a_task_rejected_by_its_checks_fails_in_one_line_and_show_has_every_check(
    cli: CliRunner, tmp_path: Path
) -> None:
    root = failing_project(tmp_path / "project")
    command = f"{sys.executable} -B -m pytest -q -p no:cacheprovider calc_test.py"
    script = write_script(tmp_path / "coder.json", submit("Nothing to do."))
    add_agent(cli, "coder", script)

    task_id, result = run_task(
        cli, "Fix add", "--agent", "coder", "--workspace", str(root), "--check", command,
        "--check-timeout", "60", "--max-rework", "0",
        code=1,
    )  # fmt: skip

    first = f"1 of 1 checks failed: {command} (exit code 1, {FAILING} failing tests)"
    assert result.stderr.split("\n")[-2:] == [
        f"error: task {task_id} FAILED (review_rejected): rejected after 0 rework rounds:"
        f" {first} (the rest: taskline task show {task_id})",
        "",
    ]
    data = show(cli, task_id)
    assert data["check_timeout_seconds"] == 60.0
    assert data["failure"]["message"].startswith(f"rejected after 0 rework rounds: {first}\n\n")
    [review] = data["reviews"]
    [check] = review["details"]["checks"]
    assert (check["command"], check["exit_code"], check["ending"]) == (command, 1, "exit code 1")
    assert review["duration_seconds"] == check["duration_seconds"]
    assert data["metrics"]["review_seconds"] == check["duration_seconds"]

    shown = invoke(cli, "task", "show", task_id).stdout
    took = re.escape(f"{check['duration_seconds']:g}s")
    assert re.search(rf"\nreview by checks in {took}: rejected\n", shown)
    assert f"  x $ {command}  (exit code 1, {check['duration_seconds']:g}s)\n" in shown
    assert f"    │ {FAILING} failed in " in shown
    assert f"Failure review_rejected: rejected after 0 rework rounds: {first}\n" in shown
