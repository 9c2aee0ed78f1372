"""The command line: output, exit codes and the one line a refusal prints."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from taskline.cli import app
from tests.conftest import BACKENDS, new_database_url

ID = re.compile(r"^[0-9A-Z]{26}$")


@pytest.fixture(params=["sqlite"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> CliRunner:
    env = {"TASKLINE_HOME": str(tmp_path / "home")}
    if request.param != "sqlite":
        env["TASKLINE_DATABASE_URL"] = new_database_url(request.param, tmp_path, request)
    return CliRunner(env=env)


def run(cli: CliRunner, *args: str, code: int = 0) -> Result:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    if code == 0:
        assert result.stderr == ""
    return result


def new_task(cli: CliRunner, *args: str) -> str:
    task_id = run(cli, "task", "create", *args).stdout.strip()
    assert ID.match(task_id)
    return task_id


def test_create_prints_only_the_id(cli: CliRunner) -> None:
    result = run(cli, "task", "create", "Write docs")
    assert ID.match(result.stdout.removesuffix("\n"))
    assert result.stdout.count("\n") == 1


def test_show_json_has_the_task_and_its_transition_log(cli: CliRunner) -> None:
    run(cli, "agent", "add", "coder", "--model", "local:smollm2")
    task_id = new_task(
        cli, "Write docs", "--description", "All of them", "--criterion", "README exists",
        "--criterion", "it is short", "--check", "test -f README.md", "--budget-usd", "0.5",
        "--max-turns", "5", "--timeout", "60",
    )  # fmt: skip
    run(cli, "task", "assign", task_id, "coder", "--reason", "good at docs")
    run(cli, "task", "move", task_id, "in_progress")
    data = json.loads(run(cli, "task", "show", task_id, "--json").stdout)
    assert {k: data[k] for k in (
        "id", "title", "description", "status", "assignee", "acceptance_criteria", "checks",
        "budget_usd", "max_turns", "timeout_seconds",
    )} == {
        "id": task_id, "title": "Write docs", "description": "All of them",
        "status": "IN_PROGRESS", "assignee": "coder",
        "acceptance_criteria": ["README exists", "it is short"], "checks": ["test -f README.md"],
        "budget_usd": 0.5, "max_turns": 5, "timeout_seconds": 60.0,
    }  # fmt: skip
    transitions = data["transitions"]
    assert [(t["from"], t["to"], t["actor"], t["reason"]) for t in transitions] == [
        (None, "CREATED", transitions[0]["actor"], ""),
        ("CREATED", "ASSIGNED", transitions[0]["actor"], "good at docs"),
        ("ASSIGNED", "IN_PROGRESS", transitions[0]["actor"], ""),
    ]
    assert transitions[0]["actor"].startswith("user:")
    assert set(transitions[0]) == {"from", "to", "at", "actor", "reason"}


def test_create_json_prints_the_task(cli: CliRunner) -> None:
    data = json.loads(run(cli, "task", "create", "x", "--json").stdout)
    assert (data["title"], data["status"], len(data["transitions"])) == ("x", "CREATED", 1)


def test_illegal_move_exits_1_with_one_line(cli: CliRunner) -> None:
    task_id = new_task(cli, "x")
    result = run(cli, "task", "move", task_id, "COMPLETED", code=1)
    assert result.stdout == ""
    assert result.stderr == (
        f"error: cannot move task {task_id} from CREATED to COMPLETED"
        " (allowed from CREATED: ASSIGNED, CANCELLED)\n"
    )
    shown = json.loads(run(cli, "task", "show", task_id, "--json").stdout)
    assert (shown["status"], len(shown["transitions"])) == ("CREATED", 1)


@pytest.mark.parametrize(
    ("path", "target", "allowed"),
    [
        (["assign"], "IN_REVIEW", None),
        (["assign", "IN_PROGRESS"], "IN_REVIEW", "IN_REVIEW"),
        (["assign", "IN_PROGRESS", "IN_REVIEW"], "ASSIGNED", None),
        (["assign", "BLOCKED"], "ASSIGNED", "ASSIGNED"),
        (["cancel"], "ASSIGNED", None),
        (["assign", "IN_PROGRESS", "FAILED"], "ASSIGNED", "ASSIGNED"),
    ],
)
def test_sample_of_pairs(cli: CliRunner, path: list[str], target: str, allowed: str | None) -> None:
    run(cli, "agent", "add", "coder", "--model", "m")
    task_id = new_task(cli, "x")
    for step in path:
        if step == "assign":
            run(cli, "task", "assign", task_id, "coder")
        elif step == "cancel":
            run(cli, "task", "cancel", task_id)
        else:
            run(cli, "task", "move", task_id, step)
    if allowed:
        result = run(cli, "task", "move", task_id, target)
        assert result.stdout == f"{task_id} {target} (coder)\n"
    else:
        result = run(cli, "task", "move", task_id, target, code=1)
        assert result.stderr.startswith(f"error: cannot move task {task_id} from ")


def test_block_unblock_cancel(cli: CliRunner) -> None:
    run(cli, "agent", "add", "coder", "--model", "m")
    task_id = new_task(cli, "x")
    run(cli, "task", "assign", task_id, "coder")
    assert run(cli, "task", "block", task_id, "-r", "waiting").stdout == (
        f"{task_id} BLOCKED (coder)\n"
    )
    assert run(cli, "task", "unblock", task_id).stdout == f"{task_id} ASSIGNED (coder)\n"
    assert run(cli, "task", "cancel", task_id).stdout == f"{task_id} CANCELLED (coder)\n"
    result = run(cli, "task", "unblock", task_id, code=1)
    assert result.stderr == f"error: task {task_id} is CANCELLED, not BLOCKED\n"


def test_not_found_and_invalid_values_exit_1(cli: CliRunner) -> None:
    assert run(cli, "task", "show", "NOPE", code=1).stderr == "error: no task 'NOPE'\n"
    assert run(cli, "task", "assign", new_task(cli, "x"), "ghost", code=1).stderr == (
        "error: no agent 'ghost'\n"
    )
    assert run(cli, "task", "create", "x", "--budget-usd", "-1", code=1).stderr == (
        "error: invalid task: budget_usd: must be greater than 0\n"
    )
    assert run(cli, "task", "create", " ", code=1).stderr == (
        "error: invalid task: title: must not be blank\n"
    )
    assert run(cli, "task", "create", "x", "--depends-on", "NOPE", code=1).stderr == (
        "error: unknown dependency: NOPE\n"
    )
    assert run(cli, "task", "create", "x", "--deadline", "soon", code=1).stderr == (
        "error: invalid deadline 'soon': use ISO 8601, e.g. 2026-12-01 or 2026-12-01T17:00+01:00\n"
    )
    run(cli, "agent", "add", "coder", "--model", "m")
    assert run(cli, "agent", "add", "coder", "--model", "m", code=1).stderr == (
        "error: agent 'coder' already exists\n"
    )


def test_dependencies_gate_the_start(cli: CliRunner) -> None:
    run(cli, "agent", "add", "coder", "--model", "m")
    first = new_task(cli, "first")
    second = new_task(cli, "second", "--depends-on", first)
    run(cli, "task", "assign", second, "coder")
    assert run(cli, "task", "move", second, "IN_PROGRESS", code=1).stderr == (
        f"error: cannot start task {second}: dependencies not COMPLETED: {first} (CREATED)\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["task", "move", "X", "DONE"], "Invalid value for 'STATUS'"),
        (["task", "move", "X"], "Missing argument 'STATUS'"),
        (["task", "create", "x", "--max-turns", "many"], "Invalid value for '--max-turns'"),
        (["task", "craete", "x"], "No such command 'craete'"),
        (["agent", "add"], "Missing argument 'NAME'"),
    ],
)
def test_usage_errors_exit_2(cli: CliRunner, args: list[str], message: str) -> None:
    result = run(cli, *args, code=2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_list_json_and_filter(cli: CliRunner) -> None:
    run(cli, "agent", "add", "coder", "--model", "m", "--tools", "read_file, write_file")
    first = new_task(cli, "first")
    second = new_task(cli, "second")
    run(cli, "task", "assign", second, "coder")
    listed = json.loads(run(cli, "task", "list", "--json").stdout)
    assert [(t["id"], t["status"]) for t in listed] == [(first, "CREATED"), (second, "ASSIGNED")]
    assigned = json.loads(run(cli, "task", "list", "--status", "assigned", "--json").stdout)
    assert [t["id"] for t in assigned] == [second]
    table = run(cli, "task", "list", "--full-ids").stdout
    assert first in table
    assert second in table
    agents = json.loads(run(cli, "agent", "list", "--json").stdout)
    assert [(a["name"], a["model"], a["tools"]) for a in agents] == [
        ("coder", "m", ["read_file", "write_file"])
    ]


def test_config_agents_and_defaults_with_flags_winning(cli: CliRunner) -> None:
    Path("taskline.toml").write_text(
        '[defaults]\nmax_turns = 4\n\n[agents.writer]\nmodel = "openai:gpt-4o-mini"\n'
    )
    assert [a["name"] for a in json.loads(run(cli, "agent", "list", "--json").stdout)] == ["writer"]
    task_id = new_task(cli, "x")
    assert json.loads(run(cli, "task", "show", task_id, "--json").stdout)["max_turns"] == 4
    task_id = new_task(cli, "x", "--max-turns", "9")
    assert json.loads(run(cli, "task", "show", task_id, "--json").stdout)["max_turns"] == 9


def test_bad_config_exits_1(cli: CliRunner) -> None:
    Path("taskline.toml").write_text("[defaults]\nmax_turn = 3\n")
    assert run(cli, "task", "list", code=1).stderr == (
        "error: taskline.toml: defaults.max_turn: Extra inputs are not permitted\n"
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_installed_script_on_each_backend(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The real `taskline` entry point, as a user runs it."""
    env = {**os.environ, "TASKLINE_HOME": str(tmp_path / "home")}
    env["TASKLINE_DATABASE_URL"] = new_database_url(backend, tmp_path, request)
    script = Path(sys.executable).parent / "taskline"

    def taskline(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([script, *args], env=env, capture_output=True, text=True, check=False)

    created = taskline("task", "create", "x")
    assert created.returncode == 0, created.stderr
    task_id = created.stdout.strip()
    refused = taskline("task", "move", task_id, "IN_REVIEW")
    assert (refused.returncode, refused.stdout, refused.stderr) == (
        1,
        "",
        f"error: cannot move task {task_id} from CREATED to IN_REVIEW"
        " (allowed from CREATED: ASSIGNED, CANCELLED)\n",
    )


def test_unreachable_database_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "TASKLINE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    script = Path(sys.executable).parent / "taskline"
    done = subprocess.run(
        [script, "task", "list"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert done.stderr.startswith(
        "error: cannot open database postgresql+psycopg://nobody@127.0.0.1:1/none: "
    )
    assert done.stderr.count("\n") == 1


def test_unsupported_database_url_is_one_line(cli: CliRunner) -> None:
    result = CliRunner(env={"TASKLINE_DATABASE_URL": "mysql://h/db"}).invoke(app, ["task", "list"])
    assert (result.exit_code, result.stderr) == (
        1,
        "error: unsupported database 'mysql' in mysql://h/db:"
        " use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB\n",
    )


def test_agent_without_model_gets_the_default_model(cli: CliRunner) -> None:
    run(cli, "agent", "add", "clerk")
    Path("taskline.toml").write_text('[defaults]\nmodel = "openai:gpt-4o-mini"\n')
    run(cli, "agent", "add", "writer")
    agents = json.loads(run(cli, "agent", "list", "--json").stdout)
    assert [(a["name"], a["model"]) for a in agents] == [
        ("clerk", "local:smollm2"),
        ("writer", "openai:gpt-4o-mini"),
    ]


def test_unknown_tool_is_refused_when_the_agent_is_added(cli: CliRunner) -> None:
    result = run(cli, "agent", "add", "x", "--tools", "read_file,rm_rf", code=1)
    assert result.stderr == (
        "error: unknown tool 'rm_rf'; built-in tools: list_dir, read_file, write_file,"
        " edit_file, run_command, submit_work\n"
    )
