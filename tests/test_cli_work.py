"""Running tasks from the command line: `run`, `task run`, and what runs leave behind.

The agents play JSON scripts (`scripted:PATH`), so every token, cost and tool
result is known in advance; only elapsed times vary, and they are masked.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from taskline.cli import app
from taskline.service import default_actor
from tests.local_model import require_local_model

ID = re.compile(r"^[0-9A-Z]{26}$")
# One line per finished turn when stderr is not a terminal; the elapsed time varies.
PROGRESS = re.compile(
    r"^run (\d+) · turn (\d+) · turn done · ([\d,]+) tokens · (\$\d+\.\d{6}|unknown)"
    r" · \d+\.\ds$"
)
SECONDS = re.compile(r"\d+\.\ds\b")
MAX_TURNS_MESSAGE = "used all 2 turns without submitting the work"
AUTO_APPROVED = "approved automatically: the task has no checks, reviewer or human review"

Call = tuple[str, dict[str, Any]]


@pytest.fixture
def cli(tmp_path: Path) -> CliRunner:
    return CliRunner(env={"TASKLINE_HOME": str(tmp_path / "home")})


def invoke(cli: CliRunner, *args: str, code: int = 0) -> Result:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result


def answer(
    *calls: Call,
    input_tokens: int = 100,
    output_tokens: int = 20,
    cost_usd: str | None = "0.001",
    text: str = "",
    **usage: int,
) -> dict[str, Any]:
    """One scripted model answer calling `calls`; no `cost_usd` means an unpriced call."""
    scripted: dict[str, Any] = {
        "text": text,
        "tool_calls": [{"name": name, "arguments": arguments} for name, arguments in calls],
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens, **usage},
    }
    if cost_usd is not None:
        scripted["cost_usd"] = cost_usd
    return scripted


def submit(summary: str, **billing: Any) -> dict[str, Any]:
    return answer(("submit_work", {"summary": summary}), **billing)


def write_script(path: Path, *answers: dict[str, Any]) -> Path:
    path.write_text(json.dumps(list(answers)), encoding="utf-8")
    return path


def add_agent(cli: CliRunner, name: str, script: Path) -> None:
    invoke(cli, "agent", "add", name, "--model", f"scripted:{script}")


def run_task(cli: CliRunner, *args: str, code: int = 0) -> tuple[str, Result]:
    """`taskline run ARGS`: the new task's id, checked to be all of stdout, and the result."""
    result = invoke(cli, "run", *args, code=code)
    task_id = result.stdout.removesuffix("\n")
    assert ID.match(task_id), result.stdout
    return task_id, result


def show(cli: CliRunner, task_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(invoke(cli, "task", "show", task_id, "--json").stdout)
    return data


def masked_lines(text: str) -> list[str]:
    """The lines of `text` with every elapsed time (`0.0s`) replaced by `Ts`."""
    return SECONDS.sub("Ts", text).splitlines()


def moves(data: dict[str, Any]) -> list[tuple[str | None, str, str, str]]:
    return [(t["from"], t["to"], t["actor"], t["reason"]) for t in data["transitions"]]


def tool_calls(turn: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool, str]]:
    return [(c["name"], c["arguments"], c["is_error"], c["output"]) for c in turn["tool_calls"]]


def without_duration(metrics: dict[str, Any]) -> dict[str, Any]:
    """`metrics` without its wall-clock times, after checking that they are numbers of seconds
    and that the agent's and the review's parts fit in the whole."""
    rest = dict(metrics)
    duration, agent, review = (
        rest.pop(name) for name in ("duration_seconds", "agent_seconds", "review_seconds")
    )
    assert all(isinstance(seconds, float) and seconds >= 0 for seconds in (duration, agent, review))
    assert agent + review <= duration + 0.002  # each is rounded to the millisecond
    return rest


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- `taskline run` -------------------------------------------------------------


def test_run_prints_only_the_id_and_show_json_has_what_the_run_left(
    cli: CliRunner, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "old.txt").write_text("old\n")
    script = write_script(
        tmp_path / "coder.json",
        answer(
            ("write_file", {"path": "notes/a.txt", "content": "hello\n"}),
            ("read_file", {"path": "missing.txt"}),
            text="writing",
        ),
        answer(("run_command", {"command": "rm old.txt"}), input_tokens=150, output_tokens=10,
               cost_usd="0.0015"),
        submit("wrote notes/a.txt", input_tokens=200, output_tokens=5, cost_usd="0.002"),
    )  # fmt: skip
    add_agent(cli, "coder", script)

    task_id, result = run_task(
        cli, "Write notes", "--agent", "coder", "--check", "test -f notes/a.txt",
        "--workspace", str(workspace),
    )  # fmt: skip

    assert result.stdout == f"{task_id}\n"
    assert masked_lines(result.stderr) == [
        "run 1 · turn 1 · turn done · 120 tokens · $0.001000 · Ts",
        "run 1 · turn 2 · turn done · 280 tokens · $0.002500 · Ts",
        "run 1 · turn 3 · turn done · 485 tokens · $0.004500 · Ts",
        f"{task_id} COMPLETED",
        "summary wrote notes/a.txt",
        "3 turns, 485 tokens (450 in, 35 out), $0.004500, Ts (agent Ts, review Ts), 4 tool calls, 1 runs",
    ]
    data = show(cli, task_id)
    assert (data["status"], data["summary"], data["failure"]) == (
        "COMPLETED",
        "wrote notes/a.txt",
        None,
    )
    user = default_actor()
    assert moves(data) == [
        (None, "CREATED", user, ""),
        ("CREATED", "ASSIGNED", user, ""),
        ("ASSIGNED", "IN_PROGRESS", "system", "run started (first)"),
        ("IN_PROGRESS", "IN_REVIEW", "agent:coder", "work submitted"),
        ("IN_REVIEW", "COMPLETED", "checks", "all 1 checks passed"),
    ]
    assert data["artifacts"] == [
        {"path": "notes/a.txt", "change": "created", "size": 6, "sha256": sha256(b"hello\n")},
        {"path": "old.txt", "change": "deleted", "size": 4, "sha256": sha256(b"old\n")},
    ]
    assert without_duration(data["metrics"]) == {
        "turns_per_task": 3, "tokens_per_task": 485, "input_tokens": 450, "output_tokens": 35,
        "cost_per_task": 0.0045, "unpriced_calls": 0, "tool_calls": 4, "runs": 1, "retries": 0,
        "lost_calls": 0,
    }  # fmt: skip
    [run] = data["runs"]
    assert {k: run[k] for k in (
        "number", "trigger", "agent", "model", "feedback", "status", "summary",
        "failure_category", "failure_message",
    )} == {
        "number": 1, "trigger": "first", "agent": "coder", "model": f"scripted:{script}",
        "feedback": "", "status": "submitted", "summary": "wrote notes/a.txt",
        "failure_category": None, "failure_message": None,
    }  # fmt: skip
    assert [(t["number"], t["text"], t["finish_reason"]) for t in run["turns"]] == [
        (1, "writing", "tool_calls"),
        (2, "", "tool_calls"),
        (3, "", "tool_calls"),
    ]
    assert [tool_calls(t) for t in run["turns"]] == [
        [
            ("write_file", {"path": "notes/a.txt", "content": "hello\n"}, False,
             "wrote 6 bytes to notes/a.txt"),
            ("read_file", {"path": "missing.txt"}, True,
             "No such file or directory: 'missing.txt'"),
        ],
        [("run_command", {"command": "rm old.txt"}, False, "[exit code 0]")],
        [("submit_work", {"summary": "wrote notes/a.txt"}, False, "work submitted for review")],
    ]  # fmt: skip
    [review] = data["reviews"]
    [check] = review["details"]["checks"]
    assert review["duration_seconds"] == check.pop("duration_seconds")
    assert {k: v for k, v in review.items() if k not in ("id", "at", "duration_seconds")} == {
        "run_id": run["id"],
        "reviewer": "checks",
        "approved": True,
        "feedback": "all 1 checks passed",
        "details": {"checks": [check]},
    }
    assert check == {
        "command": "test -f notes/a.txt", "passed": True, "exit_code": 0, "ending": "exit code 0",
        "output": "",
    }  # fmt: skip
    assert (workspace / "notes" / "a.txt").read_bytes() == b"hello\n"
    assert not (workspace / "old.txt").exists()


def test_failed_run_exits_1_and_task_run_retries_it(cli: CliRunner, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    script = write_script(
        tmp_path / "coder.json",
        answer(("write_file", {"path": "draft.txt", "content": "draft"}), cost_usd="0.0005"),
        answer(("list_dir", {}), cost_usd="0.0005"),
        answer(("list_dir", {}), cost_usd="0.0005"),
    )
    add_agent(cli, "coder", script)

    task_id, result = run_task(
        cli, "Never done", "--agent", "coder", "--max-turns", "2", "--workspace", str(workspace),
        code=1,
    )  # fmt: skip

    assert result.stdout == f"{task_id}\n"
    assert masked_lines(result.stderr) == [
        "run 1 · turn 1 · turn done · 120 tokens · $0.000500 · Ts",
        "run 1 · turn 2 · turn done · 240 tokens · $0.001000 · Ts",
        f"error: task {task_id} FAILED (max_turns): {MAX_TURNS_MESSAGE}"
        f" (details: taskline task show {task_id})",
    ]
    failed = show(cli, task_id)
    assert (failed["status"], failed["summary"], failed["failure"]) == (
        "FAILED",
        None,
        {"category": "max_turns", "message": MAX_TURNS_MESSAGE},
    )
    assert moves(failed)[-1] == ("IN_PROGRESS", "FAILED", "system", MAX_TURNS_MESSAGE)
    assert [
        (r["number"], r["trigger"], r["status"], r["failure_category"], r["failure_message"])
        for r in failed["runs"]
    ] == [(1, "first", "failed", "max_turns", MAX_TURNS_MESSAGE)]
    assert [len(t["tool_calls"]) for t in failed["runs"][0]["turns"]] == [1, 1]
    assert (failed["metrics"]["turns_per_task"], failed["metrics"]["runs"]) == (2, 1)
    assert failed["reviews"] == []

    # The script is read again for each run: the retry plays the new one.
    write_script(
        script,
        answer(("run_command", {"command": "rm draft.txt"}),
               ("write_file", {"path": "final.txt", "content": "final\n"}), cost_usd="0.0005"),
        submit("final.txt written", cost_usd="0.0005"),
    )  # fmt: skip
    retried = invoke(cli, "task", "run", task_id)

    assert masked_lines(retried.stdout) == [
        f"{task_id} COMPLETED",
        "summary final.txt written",
        "4 turns, 480 tokens (400 in, 80 out), $0.002000, Ts (agent Ts, review Ts), 5 tool calls, 2 runs",
    ]
    assert masked_lines(retried.stderr) == [
        "run 2 · turn 1 · turn done · 120 tokens · $0.000500 · Ts",
        "run 2 · turn 2 · turn done · 240 tokens · $0.001000 · Ts",
    ]
    data = show(cli, task_id)
    assert (data["status"], data["summary"], data["failure"]) == (
        "COMPLETED",
        "final.txt written",
        None,
    )
    assert [(r["number"], r["trigger"], r["status"], r["summary"], r["failure_category"])
            for r in data["runs"]] == [
        (1, "first", "failed", None, "max_turns"),
        (2, "retry", "submitted", "final.txt written", None),
    ]  # fmt: skip
    assert moves(data)[4:] == [
        ("FAILED", "ASSIGNED", "system", "retry"),
        ("ASSIGNED", "IN_PROGRESS", "system", "run started (retry)"),
        ("IN_PROGRESS", "IN_REVIEW", "agent:coder", "work submitted"),
        ("IN_REVIEW", "COMPLETED", "system", AUTO_APPROVED),
    ]
    assert without_duration(data["metrics"]) == {
        "turns_per_task": 4, "tokens_per_task": 480, "input_tokens": 400, "output_tokens": 80,
        "cost_per_task": 0.002, "unpriced_calls": 0, "tool_calls": 5, "runs": 2, "retries": 0,
        "lost_calls": 0,
    }  # fmt: skip
    assert [(r["reviewer"], r["approved"], r["run_id"]) for r in data["reviews"]] == [
        ("auto", True, data["runs"][1]["id"])
    ]


def test_task_run_refuses_a_task_that_is_not_assigned_or_failed(
    cli: CliRunner, tmp_path: Path
) -> None:
    add_agent(cli, "coder", write_script(tmp_path / "coder.json", submit("done")))
    created = invoke(cli, "task", "create", "x").stdout.strip()

    result = invoke(cli, "task", "run", created, code=1)

    assert (result.stdout, result.stderr) == (
        "",
        f"error: task {created} is CREATED; only an ASSIGNED or FAILED task can be run\n",
    )
    data = show(cli, created)
    assert (data["status"], data["runs"], len(data["transitions"])) == ("CREATED", [], 1)

    completed, _ = run_task(cli, "y", "--agent", "coder")
    result = invoke(cli, "task", "run", completed, code=1)
    assert result.stderr == (
        f"error: task {completed} is COMPLETED; only an ASSIGNED or FAILED task can be run\n"
    )
    assert len(show(cli, completed)["runs"]) == 1
    assert invoke(cli, "task", "run", "NOPE", code=1).stderr == "error: no task 'NOPE'\n"


def test_run_with_an_unknown_agent_creates_no_task(cli: CliRunner) -> None:
    result = invoke(cli, "run", "x", "--agent", "ghost", code=1)

    assert (result.stdout, result.stderr) == ("", "error: no agent 'ghost'\n")
    assert json.loads(invoke(cli, "task", "list", "--json").stdout) == []


# -- artifacts --------------------------------------------------------------------


def test_artifacts_json_and_extract_write_the_final_contents(
    cli: CliRunner, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "keep.txt").write_text("version 1\n")
    (workspace / "old.txt").write_text("old\n")
    (workspace / "same.txt").write_text("untouched\n")
    add_agent(
        cli,
        "coder",
        write_script(
            tmp_path / "coder.json",
            answer(
                ("edit_file", {"path": "keep.txt", "old": "1", "new": "2"}),
                ("write_file", {"path": "new/dir/n.bin", "content": "ünïcode\n"}),
                ("run_command", {"command": "rm old.txt"}),
            ),
            submit("done"),
        ),
    )
    task_id, _ = run_task(cli, "Edit", "--agent", "coder", "--workspace", str(workspace))
    run_id = show(cli, task_id)["runs"][0]["id"]

    listed = json.loads(invoke(cli, "artifacts", task_id, "--json").stdout)

    unicode_bytes = "ünïcode\n".encode()
    assert listed == [
        {"run_id": run_id, "path": "keep.txt", "change": "modified", "size": 10,
         "sha256": sha256(b"version 2\n")},
        {"run_id": run_id, "path": "new/dir/n.bin", "change": "created", "size": 10,
         "sha256": sha256(unicode_bytes)},
        {"run_id": run_id, "path": "old.txt", "change": "deleted", "size": 4,
         "sha256": sha256(b"old\n")},
    ]  # fmt: skip
    out = tmp_path / "out"
    extracted = invoke(cli, "artifacts", task_id, "--extract", str(out))
    assert extracted.stderr == (
        f"extracted {out / 'keep.txt'}\nextracted {out / 'new' / 'dir' / 'n.bin'}\n"
    )
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "keep.txt",
        "new/dir/n.bin",
    ]
    assert (out / "keep.txt").read_bytes() == b"version 2\n"
    assert (out / "new" / "dir" / "n.bin").read_bytes() == unicode_bytes

    missing = invoke(cli, "artifacts", "NOPE", code=1)
    assert (missing.stdout, missing.stderr) == ("", "error: no task 'NOPE'\n")


def test_extract_takes_the_last_run_and_skips_files_deleted_later(
    cli: CliRunner, tmp_path: Path
) -> None:
    script = write_script(
        tmp_path / "coder.json",
        answer(("write_file", {"path": "draft.txt", "content": "draft"}),
               ("write_file", {"path": "report.txt", "content": "first"})),
    )  # fmt: skip
    add_agent(cli, "coder", script)
    task_id, _ = run_task(cli, "Report", "--agent", "coder", "--max-turns", "1", code=1)
    write_script(
        script,
        # One turn is all the task allows: the work and its submission go together.
        answer(("run_command", {"command": "rm draft.txt"}),
               ("write_file", {"path": "report.txt", "content": "second"}),
               ("submit_work", {"summary": "report rewritten"})),
    )  # fmt: skip
    invoke(cli, "task", "run", task_id)
    first, second = (run["id"] for run in show(cli, task_id)["runs"])

    listed = json.loads(invoke(cli, "artifacts", task_id, "--json").stdout)

    assert [(a["run_id"], a["path"], a["change"], a["size"]) for a in listed] == [
        (first, "draft.txt", "created", 5),
        (first, "report.txt", "created", 5),
        (second, "draft.txt", "deleted", 5),
        (second, "report.txt", "modified", 6),
    ]
    out = tmp_path / "out"
    invoke(cli, "artifacts", task_id, "--extract", str(out))
    assert [p.name for p in out.iterdir()] == ["report.txt"]
    assert (out / "report.txt").read_bytes() == b"second"


# -- metrics ----------------------------------------------------------------------


def test_metrics_of_one_task(cli: CliRunner, tmp_path: Path) -> None:
    add_agent(
        cli,
        "coder",
        write_script(
            tmp_path / "coder.json",
            answer(("list_dir", {}), ("list_dir", {"path": "."}), input_tokens=1000,
                   output_tokens=250, cost_usd="0.0125"),
            submit("done", input_tokens=1100, output_tokens=50, cost_usd="0.01"),
        ),
    )  # fmt: skip
    task_id, _ = run_task(cli, "Look", "--agent", "coder")

    data = json.loads(invoke(cli, "metrics", "--task", task_id, "--json").stdout)

    assert ID.match(data.pop("task_id"))
    assert isinstance(data.pop("updated_at"), str)
    assert without_duration(data) == {
        "turns_per_task": 2, "tokens_per_task": 2400, "input_tokens": 2100,
        "output_tokens": 300, "cost_per_task": 0.0225, "unpriced_calls": 0, "tool_calls": 3,
        "runs": 1, "retries": 0, "lost_calls": 0,
    }  # fmt: skip
    assert masked_lines(invoke(cli, "metrics", "--task", task_id).stdout) == [
        "2 turns, 2,400 tokens (2,100 in, 300 out), $0.022500, Ts (agent Ts, review Ts), 3 tool calls, 1 runs"
    ]


def test_metrics_of_an_unfinished_task_exits_1(cli: CliRunner, tmp_path: Path) -> None:
    add_agent(cli, "coder", write_script(tmp_path / "coder.json", submit("done")))
    task_id = invoke(cli, "task", "create", "x").stdout.strip()
    invoke(cli, "task", "assign", task_id, "coder")

    for args in (["--task", task_id], ["--task", task_id, "--json"]):
        result = invoke(cli, "metrics", *args, code=1)
        assert (result.stdout, result.stderr) == (
            "",
            f"error: task {task_id} has no metrics yet: it has not finished\n",
        )
    assert invoke(cli, "metrics", "--task", "NOPE", code=1).stderr == "error: no task 'NOPE'\n"
    assert json.loads(invoke(cli, "metrics", "--json").stdout)["tasks"] == 0
    assert invoke(cli, "metrics").stdout == "no finished tasks yet\n"


def dist(
    count: int,
    mean: float | None,
    p50: float | None,
    p90: float | None,
    top: float | None,
    unknown: int = 0,
) -> dict[str, Any]:
    return {"count": count, "unknown": unknown, "mean": mean, "p50": p50, "p90": p90, "max": top}


def group(
    tasks: int, turns: dict[str, Any], tokens: dict[str, Any], cost: dict[str, Any]
) -> dict[str, Any]:
    return {
        "tasks": tasks,
        "turns_per_task": turns,
        "tokens_per_task": tokens,
        "cost_per_task": cost,
    }


def without_durations(groups: dict[str, Any]) -> dict[str, Any]:
    """The groups of a report without their duration distributions, after checking their shape."""
    trimmed = {}
    for name, measures in groups.items():
        measures = dict(measures)
        duration = measures.pop("duration_seconds")
        assert (duration["count"], duration["unknown"]) == (measures["tasks"], 0)
        trimmed[name] = measures
    return trimmed


def test_metrics_report_by_agent_and_model_flags_the_outlier(
    cli: CliRunner, tmp_path: Path
) -> None:
    # alpha and beta share model m1, gamma runs on m2. Every turn is 100 + 10 tokens and
    # $0.001, except beta's one turn, which is unpriced.
    m1, m2 = tmp_path / "m1.json", tmp_path / "m2.json"
    add_agent(cli, "alpha", m1)
    add_agent(cli, "beta", m1)
    add_agent(cli, "gamma", m2)
    write_script(m1, submit("one turn", output_tokens=10))
    one, _ = run_task(cli, "one", "--agent", "alpha")
    write_script(
        m1,
        answer(("write_file", {"path": "a", "content": "a"}), output_tokens=10),
        submit("two", output_tokens=10),
    )
    two, _ = run_task(cli, "two", "--agent", "alpha")
    write_script(m1, submit("unpriced", cost_usd=None, output_tokens=10))
    three, _ = run_task(cli, "three", "--agent", "beta")
    steps = [
        answer(("write_file", {"path": f"f{i}", "content": "x"}), output_tokens=10)
        for i in range(9)
    ]
    write_script(m2, *steps, submit("ten turns", output_tokens=10))
    ten, _ = run_task(cli, "ten", "--agent", "gamma")

    report = json.loads(invoke(cli, "metrics", "--json").stdout)

    # turns [1, 2, 1, 10]; tokens [110, 220, 110, 1100]; cost [0.001, 0.002, ?, 0.01]
    # p50 and p90 are nearest-rank: ranks ceil(0.5 n) and ceil(0.9 n) of the sorted values.
    assert report["tasks"] == 4
    assert without_durations({"all": {"tasks": 4, **report["overall"]}}) == {
        "all": group(
            4,
            dist(4, 3.5, 1, 10, 10),
            dist(4, 385.0, 110, 1100, 1100),
            dist(3, 0.004333, 0.002, 0.01, 0.01, unknown=1),
        )
    }
    gamma = group(
        1, dist(1, 10.0, 10, 10, 10), dist(1, 1100.0, 1100, 1100, 1100),
        dist(1, 0.01, 0.01, 0.01, 0.01),
    )  # fmt: skip
    assert without_durations(report["by_agent"]) == {
        "alpha": group(
            2, dist(2, 1.5, 1, 2, 2), dist(2, 165.0, 110, 220, 220),
            dist(2, 0.0015, 0.001, 0.002, 0.002),
        ),
        "beta": group(
            1, dist(1, 1.0, 1, 1, 1), dist(1, 110.0, 110, 110, 110),
            dist(0, None, None, None, None, unknown=1),
        ),
        "gamma": gamma,
    }  # fmt: skip
    assert without_durations(report["by_model"]) == {
        f"scripted:{m1}": group(
            3, dist(3, 1.333333, 1, 2, 2), dist(3, 146.666667, 110, 220, 220),
            dist(2, 0.0015, 0.001, 0.002, 0.002, unknown=1),
        ),
        f"scripted:{m2}": gamma,
    }  # fmt: skip
    # Medians over all tasks: turns 1.5, tokens 165, cost 0.002 (of the 3 priced tasks).
    # Durations depend on the machine, so their flags are not asserted.
    assert [o for o in report["outliers"] if o["measure"] != "duration_seconds"] == [
        {"task_id": ten, "measure": "turns_per_task", "value": 10, "median": 1.5,
         "times_median": 6.7},
        {"task_id": ten, "measure": "tokens_per_task", "value": 1100, "median": 165.0,
         "times_median": 6.7},
        {"task_id": ten, "measure": "cost_per_task", "value": 0.01, "median": 0.002,
         "times_median": 5.0},
    ]  # fmt: skip
    flagged = {o["task_id"] for o in report["outliers"] if o["measure"] != "duration_seconds"}
    assert flagged.isdisjoint({one, two, three})
    table = invoke(cli, "metrics").stdout
    assert f"! {ten}: turns_per_task 10 is 6.7x the median (1.5)\n" in table
    assert f"! {ten}: cost_per_task 0.01 is 5.0x the median (0.002)\n" in table


def test_metrics_report_needs_three_tasks_to_flag_one(cli: CliRunner, tmp_path: Path) -> None:
    script = tmp_path / "coder.json"
    add_agent(cli, "coder", script)
    write_script(script, submit("quick"))
    run_task(cli, "quick", "--agent", "coder")
    steps = [answer(("write_file", {"path": f"f{i}", "content": "x"})) for i in range(9)]
    write_script(script, *steps, submit("slow"))
    run_task(cli, "slow", "--agent", "coder")

    report = json.loads(invoke(cli, "metrics", "--json").stdout)

    assert (report["tasks"], report["outliers"]) == (2, [])
    assert report["overall"]["turns_per_task"] == dist(2, 5.5, 1, 10, 10)


# -- costs ------------------------------------------------------------------------

RECORD_FIELDS = (
    "task_id", "run_id", "purpose", "turn", "agent", "provider", "model", "input_tokens",
    "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd",
    "price_source", "latency_ms", "finish_reason", "attempts", "error",
)  # fmt: skip


def test_costs_of_a_task_has_one_record_per_call_and_the_totals(
    cli: CliRunner, tmp_path: Path
) -> None:
    script = write_script(
        tmp_path / "coder.json",
        answer(("list_dir", {}), input_tokens=1200, output_tokens=300, cost_usd="0.0042",
               cache_read_tokens=1000, reasoning_tokens=100),
        answer(("list_dir", {"path": "."}), input_tokens=1500, output_tokens=20, cost_usd=None),
        submit("done", input_tokens=1600, output_tokens=30, cost_usd="0.0051",
               cache_read_tokens=1400, cache_write_tokens=100),
    )  # fmt: skip
    add_agent(cli, "coder", script)
    task_id, _ = run_task(cli, "Look", "--agent", "coder")
    other, _ = run_task(cli, "Again", "--agent", "coder")

    data = json.loads(invoke(cli, "costs", "--task", task_id, "--json").stdout)

    [run] = show(cli, task_id)["runs"]
    same = {"task_id": task_id, "run_id": run["id"], "purpose": "agent", "agent": "coder",
            "provider": "scripted", "model": str(script), "latency_ms": 0.0, "attempts": 1,
            "finish_reason": "tool_calls", "error": None}  # fmt: skip
    assert all(ID.match(r["id"]) and isinstance(r["created_at"], str) for r in data["records"])
    records = [{k: r[k] for k in RECORD_FIELDS} for r in data["records"]]
    assert records == [
        {**same, "turn": 1, "input_tokens": 1200, "output_tokens": 300, "cache_read_tokens": 1000,
         "cache_write_tokens": 0, "reasoning_tokens": 100, "cost_usd": 0.0042,
         "price_source": "provider"},
        {**same, "turn": 2, "input_tokens": 1500, "output_tokens": 20, "cache_read_tokens": 0,
         "cache_write_tokens": 0, "reasoning_tokens": 0, "cost_usd": None,
         "price_source": "unknown"},
        {**same, "turn": 3, "input_tokens": 1600, "output_tokens": 30, "cache_read_tokens": 1400,
         "cache_write_tokens": 100, "reasoning_tokens": 0, "cost_usd": 0.0051,
         "price_source": "provider"},
    ]  # fmt: skip
    assert data["totals"] == {
        "calls": 3, "input_tokens": 4300, "output_tokens": 350, "cache_read_tokens": 2400,
        "cache_write_tokens": 100, "reasoning_tokens": 100, "cost_usd": None,
        "priced_cost_usd": 0.0093, "unpriced_calls": 1, "lost_calls": 0,
    }  # fmt: skip
    everything = json.loads(invoke(cli, "costs", "--json").stdout)
    assert [r["task_id"] for r in everything["records"]] == [task_id] * 3 + [other] * 3
    assert (everything["totals"]["calls"], everything["totals"]["priced_cost_usd"]) == (6, 0.0186)
    table = invoke(cli, "costs", "--task", task_id).stdout
    assert table.endswith(
        "3 calls, 4,300 input + 350 output tokens, total unknown"
        " (1 unpriced; priced calls $0.009300)\n"
    )
    assert invoke(cli, "costs", "--task", "NOPE", code=1).stderr == "error: no task 'NOPE'\n"


# -- live progress ------------------------------------------------------------------


def test_progress_prints_one_line_per_finished_turn_on_stderr(
    cli: CliRunner, tmp_path: Path
) -> None:
    add_agent(
        cli,
        "coder",
        write_script(
            tmp_path / "coder.json",
            answer(("list_dir", {}), input_tokens=1200, output_tokens=34, cost_usd="0.0012"),
            answer(("list_dir", {"path": "."}), input_tokens=1000, output_tokens=0, cost_usd=None),
            answer(text="thinking"),
            submit("done", input_tokens=50, output_tokens=5, cost_usd="0.0001"),
        ),
    )

    task_id, result = run_task(cli, "Look", "--agent", "coder")

    lines = result.stderr.splitlines()
    # Tokens and cost add up over the run; one unpriced call makes the cost unknown for good.
    assert [m.groups() for m in map(PROGRESS.fullmatch, lines[:4]) if m] == [
        ("1", "1", "1,234", "$0.001200"),
        ("1", "2", "2,234", "unknown"),
        ("1", "3", "2,354", "unknown"),
        ("1", "4", "2,409", "unknown"),
    ]
    assert masked_lines("\n".join(lines[4:])) == [
        f"{task_id} COMPLETED",
        "summary done",
        "4 turns, 2,409 tokens (2,350 in, 59 out), unknown (1 unpriced calls), Ts (agent Ts, review Ts),"
        " 3 tool calls, 1 runs",
    ]
    assert result.stdout == f"{task_id}\n"


def test_progress_line_of_a_review_continues_the_run_totals(cli: CliRunner, tmp_path: Path) -> None:
    add_agent(cli, "coder", write_script(tmp_path / "coder.json", submit("done")))
    verdict = {"verdicts": [], "approved": True, "feedback": ""}
    add_agent(
        cli,
        "checker",
        write_script(
            tmp_path / "checker.json",
            answer(("submit_review", verdict), input_tokens=50, output_tokens=10,
                   cost_usd="0.0005"),
        ),
    )  # fmt: skip

    task_id, result = run_task(cli, "Check", "--agent", "coder", "--reviewer", "checker")

    assert show(cli, task_id)["status"] == "COMPLETED"
    assert masked_lines(result.stderr)[:2] == [
        "run 1 · turn 1 · turn done · 120 tokens · $0.001000 · Ts",
        "run 1 · turn 1 · review by checker · 180 tokens · $0.001500 · Ts",
    ]


# -- demo -------------------------------------------------------------------------


def test_demo_runs_a_real_task_on_the_local_model(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_local_model()
    # The demo works in a fresh temporary directory: keep it inside this test's own.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    result = invoke(cli, "demo")

    first = result.stdout.splitlines()[0]
    assert re.fullmatch(
        rf"task [0-9A-Z]{{26}}: Write a greeting file, on local:smollm2"
        rf" \(workspace {re.escape(str(tmp_path))}/taskline-demo-\w+/workspace\)",
        first,
    ), first
    assert re.search(r"│ \d+ │ [^│]+│ IN_REVIEW +│ COMPLETED +│ checks +│", result.stdout)
    assert "hello.txt" in result.stdout
    assert not (tmp_path / "home").exists()  # the demo leaves the user's home alone


def test_commands_start_without_importing_dbos_or_mcp_and_the_worker_default_agrees() -> None:
    from taskline import durable
    from taskline.cli import worker

    assert worker.DEFAULT_HEARTBEAT_TIMEOUT_SECONDS == durable.DEFAULT_HEARTBEAT_TIMEOUT_SECONDS
    code = "import sys, taskline.cli; print('dbos' in sys.modules, 'mcp' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "False False\n"
