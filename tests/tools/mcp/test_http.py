"""A Streamable HTTP server built with the SDK, on 127.0.0.1: headers, refusals, going away."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from taskline.errors import McpServerError
from taskline.testing.ports import free_port
from taskline.tools.mcp.config import McpServerConfig
from taskline.tools.mcp.connection import McpConnection
from taskline.tools.mcp.tool import result_text
from taskline.tools.sandbox import Sandbox
from tests.tools.mcp.servers.http_server import http_mcp_server

HEADERS = {"Authorization": "Bearer ${MCP_TEST_TOKEN}"}


def connection(url: str, tmp_path: Path) -> McpConnection:
    config = McpServerConfig(url=url, headers=HEADERS)
    return McpConnection("web", config, workspace=tmp_path, sandbox=Sandbox())


async def start_error(connection: McpConnection) -> str:
    with pytest.raises(McpServerError) as caught:
        await connection.start()
    await connection.close()
    return str(caught.value)


def test_a_call_carries_the_header_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCP_TEST_TOKEN", "s3cret")

    async def main(url: str) -> tuple[list[str], str, bool]:
        web = connection(url, tmp_path)
        try:
            tools = await web.start()
            result = await web.call("add", {"a": 2, "b": 3})
        finally:
            await web.close()
        return [tool.name for tool in tools], result_text(result), result.is_error

    with http_mcp_server("s3cret") as server:
        assert asyncio.run(main(server.url)) == (["add", "echo"], "5", False)


def test_a_header_whose_variable_is_not_set_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MCP_TEST_TOKEN", raising=False)
    with http_mcp_server("s3cret") as server:
        assert asyncio.run(start_error(connection(server.url, tmp_path))) == (
            "mcp server 'web' did not start: header Authorization needs ${MCP_TEST_TOKEN},"
            " which is not set"
        )


def test_a_wrong_token_does_not_start_and_is_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCP_TEST_TOKEN", "wrong-token")
    with http_mcp_server("s3cret") as server:
        message = asyncio.run(start_error(connection(server.url, tmp_path)))
    assert message == (
        "mcp server 'web' did not start: Server returned an error response (HTTP 401 Unauthorized)"
    )
    assert "wrong-token" not in message


def test_nothing_listening_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_TEST_TOKEN", "s3cret")
    url = f"http://127.0.0.1:{free_port()}/mcp"
    assert asyncio.run(start_error(connection(url, tmp_path))) == (
        f"mcp server 'web' did not start: cannot connect to {url}: All connection attempts failed"
    )


def test_a_server_that_went_away_is_down_until_it_is_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCP_TEST_TOKEN", "s3cret")
    with http_mcp_server("s3cret") as server:
        web = connection(server.url, tmp_path)

        async def main() -> list[str]:
            await web.start()
            try:
                await asyncio.to_thread(server.stop)
                outcomes = []
                for _ in range(2):
                    try:
                        outcomes.append(result_text(await web.call("echo", {"text": "x"})))
                    except McpServerError as exc:
                        outcomes.append(str(exc))
                return outcomes
            finally:
                await web.close()

        assert asyncio.run(main()) == [
            "mcp server 'web' stopped during the call (connection closed); the next call"
            " restarts it",
            f"mcp server 'web' is down: it did not start: cannot connect to {server.url}:"
            " All connection attempts failed",
        ]
