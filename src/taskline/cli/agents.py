"""`taskline agent ...`: add and list agents."""

from __future__ import annotations

from typing import Annotated

import typer

from taskline import render
from taskline.cli.common import (
    JsonFlag,
    _print_json,
    _split,
    _taskline,
    agent_app,
)

# -- agents -------------------------------------------------------------------


@agent_app.command("add")
def agent_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Unique name.", show_default=False)],
    model: Annotated[
        str | None,
        typer.Option(
            help="Model reference, e.g. openai:gpt-4o-mini, anthropic:MODEL, NAME:MODEL for an"
            " endpoint in taskline.toml, or local:smollm2 (the default)."
        ),
    ] = None,
    role: Annotated[str, typer.Option(help="A short description of the agent's job.")] = "",
    instructions: Annotated[str, typer.Option(help="Personality and way of working.")] = "",
    tools: Annotated[
        str | None, typer.Option(help="Comma-separated tools it may use (default: all).")
    ] = None,
    mcp: Annotated[
        list[str] | None,
        typer.Option(
            "--mcp",
            metavar="SERVER[:TOOL,...]",
            help="An MCP server of taskline.toml whose tools it may use, optionally only the"
            " listed ones; repeat for more servers.",
        ),
    ] = None,
    skills: Annotated[str, typer.Option(help="Comma-separated skills.")] = "",
    budget_usd: Annotated[
        str | None, typer.Option("--budget-usd", help="Default budget per task in USD.")
    ] = None,
    budget_tokens: Annotated[
        int | None,
        typer.Option("--budget-tokens", help="Default token limit per task (input + output)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add an agent."""
    with _taskline() as tl:
        agent = tl.add_agent(
            name,
            model=model,
            role=role,
            instructions=instructions,
            skills=_split(skills),
            tools=None if tools is None else _split(tools),
            budget_usd=budget_usd,
            budget_tokens=budget_tokens,
            mcp=mcp or (),
        )
    if as_json:
        _print_json(agent.model_dump(mode="json"))
    else:
        typer.echo(agent.name)


@agent_app.command("list")
def agent_list(as_json: JsonFlag = False) -> None:
    """List agents."""
    with _taskline() as tl:
        agents = tl.list_agents()
    if as_json:
        _print_json([agent.model_dump(mode="json") for agent in agents])
    else:
        render.agents_table(agents)
