"""`--copy` from the command line: a task works on a copy, `artifacts --apply` writes it back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.engine.gitrepo import files_of, project, worktrees, write
from tests.test_cli_work import (
    add_agent,
    answer,
    cli,
    invoke,
    masked_lines,
    run_task,
    show,
    submit,
    write_script,
)

__all__ = ["cli"]  # the fixture, used by name


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return project(tmp_path / "repo")


def run_on_copy(cli: CliRunner, tmp_path: Path, repo: Path) -> tuple[str, Path]:
    """`taskline run --copy` of a task that changes src/app.py and deletes README.md; the
    task's id and its copy."""
    script = write_script(
        tmp_path / "coder.json",
        answer(("write_file", {"path": "src/app.py", "content": "v3\n"})),
        answer(("run_command", {"command": "rm README.md"})),
        submit("Changed the app."),
    )
    add_agent(cli, "coder", script)
    task_id, result = run_task(
        cli, "Change the app", "--agent", "coder", "--workspace", str(repo), "--copy"
    )
    assert masked_lines(result.stderr)[-1] == (
        f"the work is in a copy: taskline artifacts {task_id} --apply writes it to {repo}"
        " (--discard drops it)"
    )
    return task_id, tmp_path / "home" / "copies" / task_id / "repo"


def test_run_on_a_copy_then_apply_prints_each_file_written(
    cli: CliRunner, tmp_path: Path, repo: Path
) -> None:
    users_tree = files_of(repo)
    task_id, copy = run_on_copy(cli, tmp_path, repo)
    assert files_of(repo) == users_tree
    assert show(cli, task_id)["copy_dir"] == str(copy)

    applied = invoke(cli, "artifacts", task_id[:8], "--apply")

    assert applied.stdout == "deleted   README.md\nmodified  src/app.py\n"
    assert applied.stderr == f"applied 2 changes to {repo}; removed the copy {copy}\n"
    assert (repo / "src/app.py").read_text() == "v3\n"
    assert not (repo / "README.md").exists()
    assert worktrees(repo) == [str(repo)]
    [event] = show(cli, task_id)["events"]
    assert (event["kind"], event["detail"]) == (
        "applied",
        {"workspace": str(repo), "created": 0, "modified": 1, "deleted": 1},
    )
    again = invoke(cli, "artifacts", task_id[:8], "--apply", code=1)
    assert again.stdout == ""
    assert again.stderr.startswith(f"error: task {task_id}'s copy was applied already, by ")
    assert again.stderr.endswith(" UTC: there is no copy to apply\n")
    assert again.stderr.count("\n") == 1


def test_apply_refuses_in_one_line_when_the_user_changed_a_file(
    cli: CliRunner, tmp_path: Path, repo: Path
) -> None:
    task_id, copy = run_on_copy(cli, tmp_path, repo)
    write(repo, {"src/app.py": "mine\n"})
    users_tree = files_of(repo)

    refused = invoke(cli, "artifacts", task_id, "--apply", code=1)

    assert (refused.stdout, refused.stderr) == (
        "",
        f"error: task {task_id} not applied: changed in {repo} since the task started:"
        f" src/app.py; nothing was written, the copy stays at {copy}\n",
    )
    assert files_of(repo) == users_tree


def test_apply_as_json_and_discard(cli: CliRunner, tmp_path: Path, repo: Path) -> None:
    task_id, copy = run_on_copy(cli, tmp_path, repo)

    discarded = invoke(cli, "artifacts", task_id, "--discard")

    assert discarded.stdout == f"removed the copy {copy}; nothing was written\n"
    assert not copy.exists()
    assert (repo / "README.md").exists()

    # Another task, on another repository, applied with --json.
    other = project(tmp_path / "other")
    second, _ = run_task(cli, "Again", "--agent", "coder", "--workspace", str(other), "--copy")
    applied = invoke(cli, "artifacts", second, "--apply", "--json")
    assert json.loads(applied.stdout) == [
        {"path": "README.md", "change": "deleted", "written": True},
        {"path": "src/app.py", "change": "modified", "written": True},
    ]


def test_copy_mistakes_are_one_line_each(cli: CliRunner, tmp_path: Path) -> None:
    in_place = tmp_path / "in-place"
    in_place.mkdir()
    cases = [
        (("task", "create", "T", "--copy"),
         "error: invalid task: a copy needs a workspace to copy: give its directory"
         " (--workspace DIR)\n"),
        (("task", "create", "T", "--copy", "--workspace", str(tmp_path / "nope")),
         f"error: invalid task: workspace {tmp_path / 'nope'} does not exist: there is nothing"
         " to copy\n"),
    ]  # fmt: skip
    for args, message in cases:
        assert invoke(cli, *args, code=1).stderr == message
    assert invoke(cli, "task", "list", "--json").stdout == "[]\n"

    task_id = invoke(cli, "task", "create", "T", "--workspace", str(in_place)).stdout.strip()
    assert invoke(cli, "artifacts", task_id, "--apply", code=1).stderr == (
        f"error: task {task_id} did not run in a copy (it was created without --copy): its work"
        " is in its workspace already, there is nothing to apply\n"
    )
    assert invoke(cli, "artifacts", task_id, "--apply", "--discard", code=1).stderr == (
        "error: --apply and --discard exclude each other\n"
    )
    copied = invoke(cli, "task", "create", "C", "--workspace", str(in_place), "--copy")
    copied_id = copied.stdout.strip()
    assert invoke(cli, "artifacts", copied_id, "--discard", code=1).stderr == (
        f"error: task {copied_id} has no copy yet: it is made when the task first runs\n"
    )
