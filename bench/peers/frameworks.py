"""The same agent in each framework: one `read_file` tool, run to the end of the trajectory.

Each framework is a `Framework`: `setup(base_url, turns, workspace)` builds what
a program would build once (clients, agent objects), and returns a coroutine
function `run()` that runs one conversation to its end. smolagents has no async
API: its `run()` runs the agent in a worker thread.

The model is `bench-T-SUFFIX` on the loopback server (see server.py): T-1 turns
of one `read_file` call, then a last turn that answers with text (or calls
`submit_work` for taskline, `final_answer` for smolagents).
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

Run = Callable[[], Awaitable[None]]
SYSTEM = "You are a careful assistant. Use the tools to read the notes."
PROMPT = "Read the notes one by one, then say done."
API_KEY = "bench"


def write_notes(workspace: Path, turns: int) -> None:
    """The files the trajectory reads; each holds the marker the server counts turns by."""
    workspace.mkdir(parents=True, exist_ok=True)
    for i in range(turns):
        (workspace / f"notes-{i}.txt").write_text(f"a small note NOTE-{i}-END\n")


def reader(workspace: Path) -> Callable[[str], str]:
    def read_file(path: str) -> str:
        """Read a text file of the workspace.

        Args:
            path: the file's path, relative to the workspace
        """
        return (workspace / path).read_text()

    return read_file


# -- the floor: a bare loop on the openai SDK ----------------------------------


TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a text file of the workspace.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}},
                "required": ["path"],
            },
        },
    }
]


def bare_loop(create: Callable[..., Any], turns: int, workspace: Path) -> Callable[[], Any]:
    """The loop, as a generator of requests: the sync and async forms share it."""
    read_file = reader(workspace)

    def loop() -> Any:
        messages: list[Any] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": PROMPT},
        ]
        while True:
            response = yield create(model=f"bench-{turns}-text", messages=messages, tools=TOOLS)
            message = response.choices[0].message
            messages.append(message.model_dump(exclude_none=True))
            if not message.tool_calls:
                return
            for call in message.tool_calls:
                arguments = json.loads(call.function.arguments)
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": call.id,
                        "content": read_file(arguments["path"]),
                    }
                )

    return loop


def bare(base_url: str, turns: int, workspace: Path) -> Run:
    """The floor: the sync client, no framework (`run()` only wraps it for the harness)."""
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key=API_KEY)
    loop = bare_loop(client.chat.completions.create, turns, workspace)

    def run_sync() -> None:
        steps = loop()
        request = next(steps)
        try:
            while True:
                request = steps.send(request)
        except StopIteration:
            pass

    async def run() -> None:
        run_sync()

    return run


def bare_async(base_url: str, turns: int, workspace: Path) -> Run:
    """The same loop on `AsyncOpenAI`, as the async frameworks use it."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base_url, api_key=API_KEY)
    loop = bare_loop(client.chat.completions.create, turns, workspace)

    async def run() -> None:
        steps = loop()
        request = next(steps)
        try:
            while True:
                request = steps.send(await request)
        except StopIteration:
            pass

    return run


# -- peers ----------------------------------------------------------------------


def pydantic_ai(base_url: str, turns: int, workspace: Path) -> Run:
    from pydantic_ai import Agent  # type: ignore[import-not-found,unused-ignore]
    from pydantic_ai.models.openai import OpenAIChatModel  # type: ignore[import-not-found,unused-ignore]
    from pydantic_ai.providers.openai import OpenAIProvider  # type: ignore[import-not-found,unused-ignore]

    model = OpenAIChatModel(
        f"bench-{turns}-text", provider=OpenAIProvider(base_url=base_url, api_key=API_KEY)
    )
    agent = Agent(model, system_prompt=SYSTEM)
    agent.tool_plain(reader(workspace))

    async def run() -> None:
        result = await agent.run(PROMPT)
        assert result.output == "done", result.output

    return run


def openai_agents(base_url: str, turns: int, workspace: Path) -> Run:
    from agents import (  # type: ignore[import-not-found,unused-ignore]
        Agent,
        OpenAIChatCompletionsModel,
        Runner,
        function_tool,
        set_tracing_disabled,
    )
    from openai import AsyncOpenAI

    set_tracing_disabled(True)  # tracing would export to OpenAI's servers
    client = AsyncOpenAI(base_url=base_url, api_key=API_KEY)
    agent = Agent(
        name="bench",
        instructions=SYSTEM,
        model=OpenAIChatCompletionsModel(model=f"bench-{turns}-text", openai_client=client),
        tools=[function_tool(reader(workspace))],
    )

    async def run() -> None:
        result = await Runner.run(agent, PROMPT, max_turns=turns + 2)
        assert result.final_output == "done", result.final_output

    return run


def smolagents(base_url: str, turns: int, workspace: Path) -> Run:
    from smolagents import OpenAIServerModel, ToolCallingAgent, tool  # type: ignore[import-not-found,unused-ignore]

    model = OpenAIServerModel(model_id=f"bench-{turns}-final", api_base=base_url, api_key=API_KEY)
    read_file = tool(reader(workspace))

    def run_sync() -> None:
        # An agent keeps its memory: one per conversation, as smolagents intends.
        agent = ToolCallingAgent(
            tools=[read_file], model=model, max_steps=turns + 2, verbosity_level=0
        )
        assert agent.run(PROMPT) == "done"

    async def run() -> None:
        await asyncio.to_thread(run_sync)

    return run


def langgraph(base_url: str, turns: int, workspace: Path) -> Run:
    from langchain_core.tools import tool  # type: ignore[import-not-found,unused-ignore]
    from langchain_openai import ChatOpenAI  # type: ignore[import-not-found,unused-ignore]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # create_react_agent is deprecated in favour of langchain's
        from langgraph.prebuilt import create_react_agent  # type: ignore[import-not-found,unused-ignore]

        llm = ChatOpenAI(model=f"bench-{turns}-text", base_url=base_url, api_key=API_KEY)
        agent = create_react_agent(llm, [tool(reader(workspace))], prompt=SYSTEM)
    config: Any = {"recursion_limit": 2 * turns + 5}

    async def run() -> None:
        state = await agent.ainvoke({"messages": [("user", PROMPT)]}, config=config)
        assert state["messages"][-1].content == "done"

    return run


PEERS: dict[str, Callable[[str, int, Path], Run]] = {
    "bare-openai": bare,
    "bare-openai-async": bare_async,
    "pydantic-ai": pydantic_ai,
    "openai-agents": openai_agents,
    "smolagents": smolagents,
    "langgraph": langgraph,
}
