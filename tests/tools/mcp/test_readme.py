"""The README's MCP example, run as written: its config, then its commands in order, with a
scripted agent in place of the OpenAI model."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from taskline.cli import app

README = Path(__file__).resolve().parents[3] / "README.md"


def block(language: str, containing: str) -> str:
    blocks: list[str] = re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.DOTALL)
    [found] = [text for text in blocks if containing in text]
    return found


def commands(script: str) -> list[list[str]]:
    """Each command of a shell block, continuation lines joined, comments dropped."""
    joined = script.replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines() if line.strip()]


def answer(tool: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": tool, "arguments": arguments}]}


def test_the_readme_agent_commits_its_work_through_mcp_server_git(tmp_path: Path) -> None:
    Path("taskline.toml").write_text(block("toml", "[mcp.git]"))
    repo = tmp_path / "notes"
    notes = "# Notes\n\n- Run make test.\n- Keep commits small.\n- Ask early.\n"
    script = tmp_path / "gitter.json"
    script.write_text(
        json.dumps(
            [
                answer("git__git_status", repo_path="."),
                answer("write_file", path="NOTES.md", content=notes),
                answer("git__git_add", repo_path=".", files=["NOTES.md"]),
                answer("git__git_commit", repo_path=".", message="Add NOTES.md"),
                answer("submit_work", summary="Wrote and committed NOTES.md."),
            ]
        )
    )
    cli = CliRunner(env={"TASKLINE_HOME": str(tmp_path / "home")})
    ran = []
    for argv in commands(block("sh", "taskline mcp list")):
        argv = [
            part.replace("/tmp/notes", str(repo)).replace(
                "openai:gpt-4o-mini", f"scripted:{script}"
            )
            for part in argv
        ]
        ran.append(argv[:2])
        if argv[0] == "pip":
            continue  # installed by `make test`
        if argv[0] == "git":
            subprocess.run(argv, check=True, capture_output=True)
            continue
        result = cli.invoke(app, argv[1:])
        # tracker is an example URL: it does not start, and `mcp list` says so
        expected = 1 if argv[1:3] == ["mcp", "list"] else 0
        assert result.exit_code == expected, (argv, result.stdout, result.stderr)

    assert ran == [
        ["pip", "install"],
        ["taskline", "mcp"],
        ["git", "init"],
        ["taskline", "agent"],
        ["taskline", "run"],
        ["git", "-C"],
    ]
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%s", "--name-only"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert log.stdout == "Add NOTES.md\n\nNOTES.md\n"
    assert (repo / "NOTES.md").read_text() == notes
