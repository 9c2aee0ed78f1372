"""The `[mcp.NAME]` tables and the agents' grants: what is accepted, and each refusal's words."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskline.config import load_config
from taskline.errors import ConfigError, InvalidValueError, McpServerError
from taskline.models import Agent, McpGrant, validated
from taskline.tools.mcp.config import McpServerConfig, resolved_headers


def config_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "taskline.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value).removeprefix(f"{path}: ")


def test_the_issue_example_is_read_as_written(tmp_path: Path) -> None:
    path = tmp_path / "taskline.toml"
    path.write_text(
        "[mcp.git]\n"
        'command = ["mcp-server-git", "--repository", "{workspace}"]\n'
        'env = ["GITHUB_TOKEN"]\n'
        "[mcp.tracker]\n"
        'url = "https://tracker.example/mcp"\n'
        'headers = { Authorization = "Bearer ${TRACKER_TOKEN}" }\n'
        "[agents.coder]\n"
        'mcp = ["git", "tracker:get_issue,add_comment"]\n'
    )
    config = load_config(path)
    git, tracker = config.mcp["git"], config.mcp["tracker"]
    assert (git.transport, git.target, git.env, git.timeout_seconds) == (
        "stdio",
        "mcp-server-git --repository {workspace}",
        ("GITHUB_TOKEN",),
        120.0,
    )
    assert (tracker.transport, tracker.target, tracker.headers) == (
        "http",
        "https://tracker.example/mcp",
        {"Authorization": "Bearer ${TRACKER_TOKEN}"},
    )
    assert config.agents["coder"].mcp == (
        McpGrant(server="git"),
        McpGrant(server="tracker", tools=("get_issue", "add_comment")),
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[mcp.x]\n", "mcp.x: give either command (a stdio server) or url (an HTTP server)"),
        ('[mcp.x]\ncommand = ["a"]\nurl = "http://h/mcp"\n',
         "mcp.x: give either command (a stdio server) or url (an HTTP server)"),
        ('[mcp.x]\nurl = "http://h/mcp"\nenv = ["A"]\n',
         "mcp.x: env and network are for stdio servers (command), not url"),
        ('[mcp.x]\ncommand = ["a"]\nheaders = { A = "b" }\n',
         "mcp.x: headers are for HTTP servers (url), not command"),
        ("[mcp.x]\ncommand = []\n", "mcp.x.command: Tuple should have at least 1 item after validation, not 0"),
        ('[mcp.x]\nurl = "ftp://h"\n', "mcp.x.url: 'ftp://h' is not an http:// or https:// URL"),
        ('[mcp.x]\nurl = "http://h"\nheaders = { A = "${1X}" }\n',
         "mcp.x.headers: header A: ${1X} does not name a variable"),
        ('[mcp."my.server"]\ncommand = ["a"]\n',
         "mcp.my.server.[key]: 'my.server' is not an MCP server name: use 1-32 letters, digits,"
         " '_' or '-', starting with a letter or digit, without '__'"),
        ('[mcp.a__b]\ncommand = ["a"]\n',
         "mcp.a__b.[key]: 'a__b' is not an MCP server name: use 1-32 letters, digits, '_' or"
         " '-', starting with a letter or digit, without '__'"),
        ('[mcp.x]\ncommand = ["a"]\ntimeout_seconds = 0\n',
         "mcp.x.timeout_seconds: Input should be greater than 0"),
    ],
)  # fmt: skip
def test_a_wrong_table_is_one_line_naming_it(tmp_path: Path, table: str, message: str) -> None:
    assert config_error(tmp_path, table) == message


def test_headers_are_filled_in_from_the_environment_at_connection_time() -> None:
    config = McpServerConfig(url="https://t/mcp", headers={"Authorization": "Bearer ${T}-${U}"})
    assert resolved_headers("t", config, {"T": "one", "U": "two"}) == {
        "Authorization": "Bearer one-two"
    }
    with pytest.raises(McpServerError) as caught:
        resolved_headers("t", config, {"T": "one"})
    assert str(caught.value) == (
        "mcp server 't' did not start: header Authorization needs ${U}, which is not set"
    )


def test_a_header_value_is_never_in_the_config_repr() -> None:
    config = McpServerConfig(url="https://t/mcp", headers={"Authorization": "Bearer literal"})
    assert "literal" not in repr(config)


@pytest.mark.parametrize(
    ("given", "grants"),
    [
        (["git"], (McpGrant(server="git"),)),
        (["git:git_status, git_diff"], (McpGrant(server="git", tools=("git_status", "git_diff")),)),
        ([{"server": "t", "tools": ["a"]}], (McpGrant(server="t", tools=("a",)),)),
    ],
)
def test_grants_are_written_as_on_the_command_line(
    given: list[object], grants: tuple[McpGrant, ...]
) -> None:
    assert validated(Agent, "agent", name="a", model="m", mcp=given).mcp == grants


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["git:"], "invalid agent: mcp: 'git:' names no tool after ':'; leave out ':' for every tool"),
        (["git", "git:git_log"], "invalid agent: mcp: names MCP server 'git' twice; list its tools once"),
        (["my.git"], "invalid agent: mcp.server: 'my.git' is not an MCP server name: use 1-32 letters,"
         " digits, '_' or '-', starting with a letter or digit, without '__'"),
    ],
)  # fmt: skip
def test_a_wrong_grant_is_one_line(given: list[str], message: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        validated(Agent, "agent", name="a", model="m", mcp=given)
    assert str(caught.value) == message
