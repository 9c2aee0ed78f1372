"""The JSON Schema that constrains the local model's answers, and the prompt that explains it.

An answer is one JSON object: `{"tool": NAME, "arguments": {...}}` for each
offered tool, with that tool's own argument schema, or `{"answer": TEXT}`.
llama.cpp turns the schema into a grammar and samples only tokens that keep
the output valid, so every answer parses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from taskline.llm.types import ToolCall, ToolDefinition

MAX_ITEMS = 16


def answer_schema(
    tools: Sequence[ToolDefinition],
    tool_choice: Literal["auto", "required"],
    max_string_chars: int,
) -> dict[str, Any]:
    """`oneOf` over the tools' calls, plus a text answer unless a tool call is required."""
    options = [
        _object(
            {"tool": {"const": tool.name}, "arguments": bounded(tool.parameters, max_string_chars)}
        )
        for tool in tools
    ]
    if tool_choice == "auto":
        options.append(_object({"answer": {"type": "string", "maxLength": max_string_chars}}))
    return {"oneOf": options}


def bounded(schema: dict[str, Any], max_string_chars: int) -> dict[str, Any]:
    """A copy of `schema` where every string, array and object has a limit.

    Unbounded strings and arrays get a maximum length; objects that list their
    properties accept no others. A tiny model left free to ramble fills its
    output budget and never closes the JSON.
    """
    result = dict(schema)
    kind = result.get("type")
    if kind == "string" and not {"maxLength", "enum", "const", "pattern"} & result.keys():
        result["maxLength"] = max_string_chars
    if kind == "array":
        result.setdefault("maxItems", MAX_ITEMS)
        if isinstance(result.get("items"), dict):
            result["items"] = bounded(result["items"], max_string_chars)
    properties = result.get("properties")
    if isinstance(properties, dict):
        result["properties"] = {
            name: bounded(sub, max_string_chars) if isinstance(sub, dict) else sub
            for name, sub in properties.items()
        }
        result.setdefault("additionalProperties", False)
    for key in ("oneOf", "anyOf", "allOf"):
        if isinstance(result.get(key), list):
            result[key] = [
                bounded(sub, max_string_chars) if isinstance(sub, dict) else sub
                for sub in result[key]
            ]
    return result


def tool_prompt(tools: Sequence[ToolDefinition]) -> str:
    """Tells the model which tools exist and what an answer looks like."""
    lines = [
        "You can call a tool. Reply with one JSON object:",
        '{"tool": "<tool name>", "arguments": {<arguments>}} to call a tool, or',
        '{"answer": "<text>"} to reply with text.',
        "Tools:",
    ]
    for tool in tools:
        schema = json.dumps(_undescribed(tool.parameters.get("properties", {})))
        lines.append(f"- {tool.name}: {tool.description} Arguments: {schema}")
    return "\n".join(lines)


def _undescribed(properties: dict[str, Any]) -> dict[str, Any]:
    """The arguments' schemas without their descriptions.

    A 135M model copies a description into the value: shown write_file's, it wrote
    "The whole new content of the file." into hello.txt instead of the task's line.
    """
    return {
        name: {key: value for key, value in spec.items() if key != "description"}
        if isinstance(spec, dict)
        else spec
        for name, spec in properties.items()
    }


def render_call(call: ToolCall) -> str:
    """An earlier tool call, written the way the model is asked to write one."""
    return json.dumps({"tool": call.name, "arguments": call.arguments})


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
