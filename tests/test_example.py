"""The example in examples/wordcount, solved by a scripted agent through the command line."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from typer.testing import CliRunner

from tests.test_cli_work import (
    add_agent,
    answer,
    cli,
    invoke,
    run_task,
    show,
    submit,
    write_script,
)

__all__ = ["cli"]  # the fixture, used by name

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "wordcount"
SOLUTION = '''"""Count the words of a text: the function an agent is asked to write."""

from __future__ import annotations

import re
from collections import Counter

WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def count_words(text: str) -> dict[str, int]:
    """How often each word occurs in `text`, case-insensitively, punctuation ignored."""
    return dict(Counter(WORD.findall(text.lower())))
'''


def test_the_example_fails_until_an_agent_writes_count_words_in_a_copy(
    cli: CliRunner, tmp_path: Path
) -> None:
    project = shutil.copytree(EXAMPLE, tmp_path / "wordcount")
    # The interpreter of this test run: the sandbox's PATH may hold a python without pytest.
    check = f"{sys.executable} -m pytest -q"
    script = write_script(
        tmp_path / "coder.json",
        answer(("run_command", {"command": check})),
        answer(("write_file", {"path": "wordcount.py", "content": SOLUTION})),
        answer(("run_command", {"command": check})),
        submit("Wrote count_words; the 6 tests pass."),
    )
    add_agent(cli, "coder", script)

    task_id, _ = run_task(
        cli, "Make the wordcount tests pass", "--agent", "coder",
        "--workspace", str(project), "--copy", "--check", check,
        "--criterion", "python3 -m pytest -q passes",
    )  # fmt: skip

    data = show(cli, task_id)
    assert (data["status"], data["summary"]) == (
        "COMPLETED",
        "Wrote count_words; the 6 tests pass.",
    )
    outputs = [call["output"] for turn in data["runs"][0]["turns"] for call in turn["tool_calls"]]
    assert "6 failed" in outputs[0]
    assert "6 passed" in outputs[2]
    [check_run] = data["reviews"][0]["details"]["checks"]
    assert (check_run["passed"], check_run["exit_code"]) == (True, 0)
    # The agent ran pytest twice, in the copy: its caches are noise, not work.
    copy = Path(data["copy_dir"])
    assert (copy / ".pytest_cache").is_dir()
    assert [(a["path"], a["change"]) for a in data["artifacts"]] == [("wordcount.py", "modified")]
    # The user's project is as it was until the work is applied.
    assert sorted(p.name for p in project.iterdir()) == sorted(p.name for p in EXAMPLE.iterdir())
    assert (project / "wordcount.py").read_text() == (EXAMPLE / "wordcount.py").read_text()

    applied = invoke(cli, "artifacts", task_id, "--apply")

    assert applied.stdout == "modified  wordcount.py\n"
    assert applied.stderr == f"applied 1 change to {project}; removed the copy {copy}\n"
    assert (project / "wordcount.py").read_text() == SOLUTION
    assert not (project / ".pytest_cache").exists()
    assert not copy.exists()
    assert "raise NotImplementedError" in (EXAMPLE / "wordcount.py").read_text()
