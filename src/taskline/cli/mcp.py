"""`taskline mcp ...`: the MCP servers of taskline.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from taskline import render
from taskline.cli.common import JsonFlag, _print_json, _taskline, app

mcp_app = typer.Typer(help="MCP servers whose tools agents may use.", no_args_is_help=True)
app.add_typer(mcp_app, name="mcp")


@mcp_app.command("list")
def mcp_list(
    workspace: Annotated[
        Path | None,
        typer.Option(
            help="Directory that {workspace} stands for in a server's command line"
            " (default: the current directory).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Start each configured server, list its tools and stop it; exit 1 if one did not start."""
    with _taskline() as tl:
        reports = tl.mcp_servers(workspace)
    if as_json:
        _print_json([report.model_dump(mode="json") for report in reports])
    else:
        render.mcp_servers(reports)
    if any(not report.started for report in reports):
        raise typer.Exit(1)
