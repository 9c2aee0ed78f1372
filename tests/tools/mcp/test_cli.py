"""`taskline mcp list` and `taskline agent add --mcp`, driven as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from taskline.cli import app
from tests.tools.mcp.conftest import server_command


@pytest.fixture
def cli(tmp_path: Path) -> CliRunner:
    return CliRunner(env={"TASKLINE_HOME": str(tmp_path / "home")})


def run(cli: CliRunner, *args: str, code: int = 0) -> Result:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def write_config(tag: str) -> None:
    """taskline.toml in the current directory: a test server, a broken one, an HTTP one."""
    command = ", ".join(json.dumps(part) for part in server_command(tag))
    Path("taskline.toml").write_text(
        f"[mcp.test]\ncommand = [{command}]\n"
        '[mcp.broken]\ncommand = ["no-such-mcp-server"]\n'
        '[mcp.web]\nurl = "http://127.0.0.1:9/mcp"\n'
        'headers = { Authorization = "Bearer ${MCP_CLI_TOKEN}" }\n'
    )


def test_mcp_list_json_shows_each_server_its_start_and_its_tools(
    cli: CliRunner, tag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCP_CLI_TOKEN", "never-printed")
    write_config(tag)

    result = run(cli, "mcp", "list", "--json", code=1)

    reports = json.loads(result.stdout)
    assert [(r["name"], r["transport"], r["started"]) for r in reports] == [
        ("broken", "stdio", False),
        ("test", "stdio", True),
        ("web", "http", False),
    ]
    broken, test, web = reports
    assert broken["error"].startswith(
        "mcp server 'broken' did not start: command 'no-such-mcp-server' is not on PATH or in "
    )
    assert [(t["name"], t["tool"]) for t in test["tools"]][:3] == [
        ("test__echo", "echo"),
        ("test__environment", "environment"),
        ("test__read", "read"),
    ]
    assert test["tools"][0]["description"] == "Answer with the text given."
    assert (web["headers"], web["error"]) == (
        ["Authorization"],
        "mcp server 'web' did not start: cannot connect to http://127.0.0.1:9/mcp:"
        " All connection attempts failed",
    )
    assert "never-printed" not in result.stdout + result.stderr


def test_mcp_list_for_people_says_why_a_server_did_not_start(cli: CliRunner, tag: str) -> None:
    write_config(tag)
    result = run(cli, "mcp", "list", code=1)
    lines = result.stdout.splitlines()
    assert lines[0] == "broken  stdio  no-such-mcp-server"
    assert lines[1].startswith(
        "  error: mcp server 'broken' did not start: command 'no-such-mcp-server' is not on"
    )
    assert lines[2:4] == ["test  stdio  " + " ".join(server_command(tag)), "  started: 8 tools"]
    assert lines[4].split() == ["name", "for", "the", "model", "server's", "name", "description"]
    assert lines[5].split()[:4] == ["test__echo", "echo", "Answer", "with"]
    assert lines[-2:] == [
        "web  http  http://127.0.0.1:9/mcp  (headers: Authorization)",
        "  error: mcp server 'web' did not start: header Authorization needs ${MCP_CLI_TOKEN},"
        " which is not set",
    ]


def test_mcp_list_without_servers_says_how_to_declare_them(cli: CliRunner) -> None:
    result = run(cli, "mcp", "list")
    assert result.stdout == "no MCP servers: declare them in [mcp.NAME] tables of taskline.toml\n"


def test_agent_add_takes_servers_with_and_without_allow_lists(cli: CliRunner, tag: str) -> None:
    write_config(tag)
    added = run(
        cli, "agent", "add", "coder", "--mcp", "test", "--mcp", "web:add,echo", "--json"
    ).stdout
    assert json.loads(added)["mcp"] == [
        {"server": "test", "tools": None},
        {"server": "web", "tools": ["add", "echo"]},
    ]
    table = run(cli, "agent", "list").stdout
    assert "test, web:add,echo" in table


def test_agent_add_refuses_a_server_that_is_not_declared(cli: CliRunner, tag: str) -> None:
    write_config(tag)
    result = run(cli, "agent", "add", "coder", "--mcp", "tracker", code=1)
    assert result.stderr == (
        "error: invalid agent 'coder': unknown MCP server 'tracker'; servers in the [mcp]"
        " tables of taskline.toml: broken, test, web\n"
    )
    assert json.loads(run(cli, "agent", "list", "--json").stdout) == []


def test_an_agent_of_the_config_naming_an_unknown_server_is_one_line(cli: CliRunner) -> None:
    Path("taskline.toml").write_text('[agents.coder]\nmcp = ["git"]\n')
    result = run(cli, "agent", "list", code=1)
    assert result.stderr == (
        "error: invalid agent 'coder': unknown MCP server 'git'; servers in the [mcp] tables"
        " of taskline.toml: none\n"
    )
