"""User text is text: what people and models wrote is shown as written, never as markup.

Each hostile string goes through every command that prints it, in text and in
`--json`. Text output shows it verbatim, with control characters (ANSI escapes,
NUL, right-to-left marks) written as visible escapes; `--json` keeps it exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from taskline.cli import app

from .test_cli_work import answer, submit, write_script

# (what was written, how the text output shows it)
HOSTILE = [
    ("[bold]x[/bold]", "[bold]x[/bold]"),
    ('[//]: # "a markdown comment"', '[//]: # "a markdown comment"'),
    ("see [link] and [/] and [red]", "see [link] and [/] and [red]"),
    ("ends with a backslash \\", "ends with a backslash \\"),
    ("step failed [exit code 1]", "step failed [exit code 1]"),
    ("\x1b[31mred\x1b[0m and \x1b]0;title\x07", "\\x1b[31mred\\x1b[0m and \\x1b]0;title\\x07"),
    ("nul\x00byte and \r return", "nul\\x00byte and \\x0d return"),
    ("right-to-left \u202eevil\u202c", "right-to-left \\u202eevil\\u202c"),
]
ARTIFACT = "[link] notes.txt"


@pytest.fixture
def cli(tmp_path: Path) -> CliRunner:
    # wide enough that no table cell is wrapped
    return CliRunner(env={"TASKLINE_HOME": str(tmp_path / "home"), "COLUMNS": "400"})


def ok(cli: CliRunner, *args: str, code: int = 0) -> Result:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def as_json(cli: CliRunner, *args: str) -> Any:
    return json.loads(ok(cli, *args, "--json").stdout)


@pytest.mark.parametrize(("raw", "visible"), HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_is_shown_verbatim_everywhere(
    cli: CliRunner, tmp_path: Path, raw: str, visible: str
) -> None:
    script = write_script(
        tmp_path / "script.json",
        answer(("write_file", {"path": ARTIFACT, "content": raw}), ("list_dir", {"path": raw})),
        submit(raw),
    )
    ok(cli, "agent", "add", "coder", "--model", f"scripted:{script}", "--role", raw)
    ran = ok(
        cli, "run", "--agent", "coder", raw, "--description", raw, "--criterion", raw,
        "--expect", raw, "--human-review",
    )  # fmt: skip
    task_id = ran.stdout.strip()
    assert f"summary {visible}" in ran.stderr
    reviewed = ok(cli, "review", "approve", task_id, "--feedback", raw)
    assert f"summary {visible}" in reviewed.stdout

    shown = ok(cli, "task", "show", task_id).stdout
    assert f"{visible}  COMPLETED" in shown  # the title
    assert f"\n{visible}\n" in shown  # the description
    assert f"  - {visible}\n" in shown  # the criterion and the expected artifact
    assert f"Summary {visible}" in shown
    assert f"approved {visible}" in shown  # the review feedback
    assert f"write_file(path='{ARTIFACT}'" in shown
    data = as_json(cli, "task", "show", task_id)
    assert (data["title"], data["description"], data["summary"]) == (raw, raw, raw)
    assert (data["acceptance_criteria"], data["expected_artifacts"]) == ([raw], [raw])
    assert [r["feedback"] for r in data["reviews"]] == [raw]
    [run] = data["runs"]
    arguments = [c["arguments"] for turn in run["turns"] for c in turn["tool_calls"]]
    assert arguments == [{"path": ARTIFACT, "content": raw}, {"path": raw}, {"summary": raw}]

    assert visible in ok(cli, "task", "list").stdout
    assert [t["title"] for t in as_json(cli, "task", "list")] == [raw]
    assert visible in ok(cli, "agent", "list").stdout
    assert [a["role"] for a in as_json(cli, "agent", "list")] == [raw]
    assert ARTIFACT in ok(cli, "artifacts", task_id).stdout
    assert [a["path"] for a in as_json(cli, "artifacts", task_id)] == [ARTIFACT]
    assert "2 calls, 200 input + 40 output tokens" in ok(cli, "costs", "--task", task_id).stdout
    assert len(as_json(cli, "costs", "--task", task_id)["records"]) == 2
    ok(cli, "metrics", "--task", task_id)
    ok(cli, "metrics")
    as_json(cli, "metrics")


@pytest.mark.parametrize(("raw", "visible"), HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_failure_message_is_shown_verbatim(
    cli: CliRunner, tmp_path: Path, raw: str, visible: str
) -> None:
    script = write_script(tmp_path / "script.json", {"error": raw, "status_code": 400})
    ok(cli, "agent", "add", "coder", "--model", f"scripted:{script}")

    ran = ok(cli, "run", "--agent", "coder", "Fails", code=1)

    task_id = ran.stdout.strip()
    message = f"scripted:{script} failed after 1 attempt: {visible}"
    assert ran.stderr.endswith(
        f"FAILED (provider_error): {message} (details: taskline task show {task_id})\n"
    )
    assert f"Failure provider_error: {message}" in ok(cli, "task", "show", task_id).stdout
    failure = as_json(cli, "task", "show", task_id)["failure"]
    assert failure == {
        "category": "provider_error",
        "message": f"scripted:{script} failed after 1 attempt: {raw}",
    }


def test_a_megabyte_of_text_is_shown_whole(cli: CliRunner) -> None:
    description = "[b]" + "x" * 1_000_000 + "[/b]"
    task_id = ok(cli, "task", "create", "Huge", "--description", description).stdout.strip()

    assert description in ok(cli, "task", "show", task_id).stdout
    assert as_json(cli, "task", "show", task_id)["description"] == description


def test_a_megabyte_title_is_one_line_of_refusal(cli: CliRunner) -> None:
    result = ok(cli, "task", "create", "[b]" + "x" * 1_000_000, code=1)

    assert result.stdout == ""
    assert (
        result.stderr == "error: invalid task: title: String should have at most 200 characters\n"
    )
