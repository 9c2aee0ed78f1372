"""Arguments are checked against the schema the model was shown, with exact messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from taskline.tools import ToolContext
from taskline.tools.base import BuiltinTool
from taskline.tools.files import EDIT_FILE, LIST_DIR, READ_FILE, WRITE_FILE
from taskline.tools.registry import BUILTIN_TOOLS
from taskline.tools.shell import RUN_COMMAND
from taskline.tools.submit import SUBMIT_WORK
from tests.tools.helpers import call


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        (WRITE_FILE, {"path": "a.txt"}, "content: Field required"),
        (WRITE_FILE, {}, "path: Field required; content: Field required"),
        (
            WRITE_FILE,
            {"path": "a.txt", "content": "x", "mode": "w"},
            "mode: Extra inputs are not permitted",
        ),
        (READ_FILE, {"path": 5}, "path: Input should be a valid string"),
        (READ_FILE, {"path": ""}, "path: String should have at least 1 character"),
        (LIST_DIR, {"path": None}, "path: Input should be a valid string"),
        (
            EDIT_FILE,
            {"path": "a", "old": "", "new": "b"},
            "old: String should have at least 1 character",
        ),
        (
            RUN_COMMAND,
            {"command": "true", "timeout_seconds": "5"},
            "timeout_seconds: Input should be a valid number",
        ),
        (
            RUN_COMMAND,
            {"command": "true", "timeout_seconds": 0},
            "timeout_seconds: Input should be greater than 0",
        ),
        (
            RUN_COMMAND,
            {"command": "true", "timeout_seconds": 7200},
            "timeout_seconds: Input should be less than or equal to 3600",
        ),
        (RUN_COMMAND, {"command": ["ls"]}, "command: Input should be a valid string"),
        (SUBMIT_WORK, {"summary": "   "}, "summary: must not be blank"),
        (READ_FILE, [], "arguments must be a JSON object"),
    ],
)
def test_invalid_arguments_are_an_error_naming_the_problem(
    tool: BuiltinTool[Any], arguments: Any, message: str, context: ToolContext, workspace_dir: Path
) -> None:
    result = call(tool, arguments, context)

    assert (result.output, result.is_error) == (
        f"invalid arguments for {tool.name}: {message}",
        True,
    )
    assert list(workspace_dir.iterdir()) == []


def test_the_schemas_offered_to_the_model() -> None:
    schemas = {tool.name: tool.parameters for tool in BUILTIN_TOOLS}

    assert schemas == {
        "list_dir": {
            "type": "object",
            "properties": {
                "path": {
                    "type": "string",
                    "minLength": 1,
                    "default": ".",
                    "description": "Directory to list, relative to the workspace; `.` is the workspace itself.",
                }
            },
            "additionalProperties": False,
        },
        "read_file": {
            "type": "object",
            "properties": {
                "path": {
                    "type": "string",
                    "minLength": 1,
                    "description": "File to read, relative to the workspace.",
                }
            },
            "required": ["path"],
            "additionalProperties": False,
        },
        "write_file": {
            "type": "object",
            "properties": {
                "path": {
                    "type": "string",
                    "minLength": 1,
                    "description": "File to write, relative to the workspace; missing parent directories are created.",
                },
                "content": {"type": "string", "description": "The whole new content of the file."},
            },
            "required": ["path", "content"],
            "additionalProperties": False,
        },
        "edit_file": {
            "type": "object",
            "properties": {
                "path": {
                    "type": "string",
                    "minLength": 1,
                    "description": "File to edit, relative to the workspace.",
                },
                "old": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Text to replace; it must occur exactly once in the file.",
                },
                "new": {"type": "string", "description": "Text to put in its place."},
            },
            "required": ["path", "old", "new"],
            "additionalProperties": False,
        },
        "run_command": {
            "type": "object",
            "properties": {
                "command": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Shell command, run by bash in the workspace directory.",
                },
                "timeout_seconds": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "maximum": 3600.0,
                    "description": "Seconds before the command and all it started are killed; left out, the default applies.",
                },
            },
            "required": ["command"],
            "additionalProperties": False,
        },
        "submit_work": {
            "type": "object",
            "properties": {
                "summary": {
                    "type": "string",
                    "description": "What was done, where the results are and anything the reviewer should know.",
                }
            },
            "required": ["summary"],
            "additionalProperties": False,
        },
    }


def test_submit_work_carries_the_summary(context: ToolContext) -> None:
    result = call(SUBMIT_WORK, {"summary": "  Added hello.txt with a greeting.\n"}, context)

    assert (result.output, result.is_error, result.submission) == (
        "work submitted for review",
        False,
        "Added hello.txt with a greeting.",
    )


def test_a_failed_submission_carries_no_summary(context: ToolContext) -> None:
    result = call(SUBMIT_WORK, {}, context)

    assert (result.is_error, result.submission) == (True, None)
