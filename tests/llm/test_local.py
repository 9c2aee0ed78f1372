"""The embedded SmolLM2 model: grammar-constrained tool calls, offline, loaded once."""

from __future__ import annotations

import hashlib
import logging
import re
from decimal import Decimal
from typing import Any

import pytest

from taskline.errors import ProviderError, ResponseParseError
from taskline.llm import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolDefinition,
    ToolResultMessage,
    UserMessage,
)
from taskline.llm.local import NOTICE, LocalModel, LocalRuntime, default_threads, smollm2_path
from taskline.llm.local_schema import answer_schema, bounded, tool_prompt
from taskline.llm.model_file import SMOLLM2
from taskline.tools.registry import builtin_tools, tool_definitions
from tests.local_model import require_local_model

pytestmark = pytest.mark.anyio

SYSTEM = SystemMessage(content="You are a coding agent working in a repository.")


def _tool(name: str, description: str, **properties: str) -> ToolDefinition:
    return ToolDefinition(
        name=name,
        description=description,
        parameters={
            "type": "object",
            "properties": {key: {"type": kind} for key, kind in properties.items()},
            "required": list(properties),
        },
    )


TOOLS = [
    _tool("read_file", "Read a text file in the workspace.", path="string"),
    _tool("write_file", "Write text to a file.", path="string", content="string"),
    _tool("list_directory", "List the files in a directory.", path="string"),
    _tool(
        "run_command", "Run a shell command with a timeout.", command="string", seconds="integer"
    ),
    _tool("submit_work", "Finish the task with a summary of the work.", summary="string"),
]
PROMPTS = [
    "Read the file README.md.",
    "Create hello.py that prints hello.",
    "What files are in the src directory?",
    "Run the tests with pytest.",
    "The task is done; submit it.",
    "Show me the contents of setup.cfg.",
    "Write TODO into notes.txt.",
    "List the docs directory.",
    "Run ls -la in the workspace.",
    "Summarise your work and finish.",
    "Open pyproject.toml and check the version.",
    "Save a file called data.json with an empty list.",
    "Which files does the tests folder hold?",
    "Execute make lint.",
    "All acceptance criteria pass. Hand in the work.",
    "Look at CHANGELOG.md.",
    "Put the word done into status.txt.",
    "Show the files in the current directory.",
    "Check the git status by running a command.",
    "Print the first lines of main.py.",
]
PY_TYPES: dict[str, type] = {"string": str, "integer": int}


def _conforms(call: ToolCall) -> bool:
    """The call names an offered tool and its arguments fit that tool's schema."""
    [tool] = [t for t in TOOLS if t.name == call.name]
    properties: dict[str, Any] = tool.parameters["properties"]
    return set(tool.parameters["required"]) <= set(call.arguments) <= set(properties) and all(
        type(value) is PY_TYPES[properties[key]["type"]] for key, value in call.arguments.items()
    )


def test_the_model_file_is_the_pinned_one() -> None:
    require_local_model()

    path = smollm2_path()

    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size == 98_362_432
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SMOLLM2.sha256


def test_answer_schema_is_one_of_the_tools_or_text() -> None:
    read = _tool("read_file", "Read.", path="string")

    assert answer_schema([read], "auto", 100) == {
        "oneOf": [
            {
                "type": "object",
                "properties": {
                    "tool": {"const": "read_file"},
                    "arguments": {
                        "type": "object",
                        "properties": {"path": {"type": "string", "maxLength": 100}},
                        "required": ["path"],
                        "additionalProperties": False,
                    },
                },
                "required": ["tool", "arguments"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {"answer": {"type": "string", "maxLength": 100}},
                "required": ["answer"],
                "additionalProperties": False,
            },
        ]
    }
    assert len(answer_schema([read], "required", 100)["oneOf"]) == 1


def test_the_tool_prompt_shows_argument_schemas_without_their_descriptions() -> None:
    # The 135M model copied write_file's "The whole new content of the file." into
    # hello.txt when the prompt showed it.
    tools = tool_definitions(builtin_tools(["write_file"]))

    assert tool_prompt(tools).splitlines()[-2:] == [
        "- write_file: Create or overwrite a file of the workspace with the given text,"
        " creating missing parent directories."
        ' Arguments: {"path": {"minLength": 1, "type": "string"}, "content": {"type": "string"}}',
        "- submit_work: Finish the task: call this once the work is done and meets the"
        " acceptance criteria, with a summary of what was done. It ends your work on the task."
        ' Arguments: {"summary": {"type": "string"}}',
    ]
    assert "description" in tools[0].parameters["properties"]["content"]  # still sent elsewhere


@pytest.mark.parametrize(("cpus", "threads"), [(None, 1), (1, 1), (2, 2), (4, 4), (64, 4)])
def test_the_default_thread_count_is_one_per_core_up_to_four(
    monkeypatch: pytest.MonkeyPatch, cpus: int | None, threads: int
) -> None:
    monkeypatch.setattr("taskline.llm.local.os.cpu_count", lambda: cpus)

    assert default_threads() == threads


def test_bounded_keeps_limits_that_are_set() -> None:
    schema = {
        "type": "object",
        "properties": {
            "mode": {"type": "string", "enum": ["a", "b"]},
            "name": {"type": "string", "maxLength": 5},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": True,
    }

    assert bounded(schema, 50) == {
        "type": "object",
        "properties": {
            "mode": {"type": "string", "enum": ["a", "b"]},
            "name": {"type": "string", "maxLength": 5},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 50}, "maxItems": 16},
        },
        "additionalProperties": True,
    }


async def test_every_prompt_gets_a_valid_tool_call(local_runtime: LocalRuntime) -> None:
    # short strings keep the test quick; the structure is what is under test
    model = LocalModel(runtime=local_runtime, tool_choice="required", max_string_chars=64)

    responses = [await model.complete([SYSTEM, UserMessage(content=p)], TOOLS) for p in PROMPTS]

    assert len(responses) == 20
    for prompt, response in zip(PROMPTS, responses, strict=True):
        assert len(response.tool_calls) == 1, prompt
        assert _conforms(response.tool_calls[0]), (prompt, response.tool_calls[0])
        assert response.finish_reason == "tool_calls"
        assert response.text == ""
        assert (response.cost_usd, response.price_source) == (Decimal(0), "provider")
        assert response.usage.input_tokens > 0
        assert response.usage.output_tokens > 0


async def test_auto_gives_a_tool_call_or_text(local_runtime: LocalRuntime) -> None:
    model = LocalModel(runtime=local_runtime)
    conversation: list[Message] = [
        SYSTEM,
        UserMessage(content="Read README.md and tell me what it says."),
        AssistantMessage(
            tool_calls=(ToolCall(id="c1", name="read_file", arguments={"path": "README.md"}),)
        ),
        ToolResultMessage(tool_call_id="c1", name="read_file", content="# Demo\nA demo project."),
    ]

    response = await model.complete(conversation, TOOLS)

    if response.tool_calls:
        assert _conforms(response.tool_calls[0])
        assert response.text == ""
    else:
        assert response.text != ""
        assert response.finish_reason == "stop"


async def test_without_tools_it_answers_in_text(local_runtime: LocalRuntime) -> None:
    model = LocalModel(runtime=local_runtime, max_output_tokens=24)

    response = await model.complete([UserMessage(content="Say hello in French.")])

    assert response.tool_calls == ()
    assert response.text.strip() != ""
    assert response.usage.output_tokens <= 24
    assert (response.provider, response.model, response.attempts) == ("local", "smollm2", 1)


async def test_answer_cut_short_is_a_parse_error_that_keeps_usage(
    local_runtime: LocalRuntime,
) -> None:
    model = LocalModel(runtime=local_runtime, tool_choice="required", max_output_tokens=4)

    with pytest.raises(ResponseParseError) as caught:
        await model.complete([SYSTEM, UserMessage(content=PROMPTS[0])], TOOLS)

    error = caught.value
    assert str(error).startswith(
        "local:smollm2 failed after 1 attempt: unreadable response:"
        " the constrained answer is not complete JSON:"
    )
    assert error.usage is not None
    assert error.usage.output_tokens == 4
    assert (error.cost_usd, error.price_source) == (Decimal(0), "provider")


async def test_small_model_notice_is_logged_once_per_runtime(
    local_runtime: LocalRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    fresh = LocalRuntime(local_runtime.server)  # same weights, no notice yet
    model = LocalModel(runtime=fresh, max_output_tokens=2)

    with caplog.at_level(logging.WARNING, logger="taskline.llm.local"):
        await model.complete([UserMessage(content="hi")])
        await model.complete([UserMessage(content="hi")])

    assert caplog.messages == [NOTICE]
    assert "small offline model" in NOTICE
    assert "[endpoints.NAME]" in NOTICE


async def test_a_prompt_past_the_context_window_is_one_provider_error(
    local_runtime: LocalRuntime,
) -> None:
    model = LocalModel(runtime=local_runtime, max_output_tokens=4)

    with pytest.raises(ProviderError) as caught:
        await model.complete([UserMessage(content="word " * 5000)])

    assert re.fullmatch(
        r"local:smollm2 failed after 1 attempt: request \(\d+ tokens\) exceeds the available"
        r" context size \(4096 tokens\), try increasing it",
        str(caught.value),
    ), str(caught.value)
