"""What every built-in tool shares: its context, and how its arguments are checked.

A built-in tool is a `BuiltinTool`: a name, a description for the model, a
pydantic model of its arguments (from which its JSON Schema is generated) and
an async function that does the work. `BuiltinTool.run` validates the
arguments, times the call and turns every problem into an error result, so a
tool never raises into the run loop: the model reads the message and may try
again.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from taskline.errors import InvalidValueError, bounded
from taskline.tools.output import cap_text
from taskline.tools.result import ToolFailure, ToolResult
from taskline.tools.sandbox import Sandbox
from taskline.tools.workspace import Workspace

DEFAULT_COMMAND_TIMEOUT_SECONDS = 120.0
DEFAULT_MAX_OUTPUT_BYTES = 20_000
# Room for a little of the beginning and of the end of an output.
MIN_OUTPUT_BYTES = 2
DEFAULT_MAX_PARALLEL_TOOL_CALLS = 8
DEFAULT_MAX_TOOL_CALLS_PER_TURN = 64


@dataclass(frozen=True)
class ToolContext:
    """What a tool may use while it runs: the task's workspace, its sandbox, the output limits."""

    workspace: Workspace
    """The directory the agent works in; tools refuse paths outside it."""
    command_timeout_seconds: float = DEFAULT_COMMAND_TIMEOUT_SECONDS
    """Time limit of `run_command` when the model gives none."""
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    """Most bytes of file content or command output one result shows."""
    sandbox: Sandbox = field(default_factory=Sandbox)
    """Where `run_command` runs its commands: bubblewrap with the default settings unless set."""

    def __post_init__(self) -> None:
        if self.command_timeout_seconds <= 0:
            raise InvalidValueError(
                "command_timeout_seconds must be greater than 0,"
                f" not {self.command_timeout_seconds}"
            )
        if self.max_output_bytes < MIN_OUTPUT_BYTES:
            raise InvalidValueError(
                f"max_output_bytes must be at least {MIN_OUTPUT_BYTES}, not {self.max_output_bytes}"
            )


@dataclass(frozen=True)
class ToolCallLimits:
    """How many of one turn's tool calls run: a bound on a model that asks for thousands."""

    max_parallel: int = DEFAULT_MAX_PARALLEL_TOOL_CALLS
    """Most calls of one turn running at the same time; the others wait their turn."""
    max_per_turn: int = DEFAULT_MAX_TOOL_CALLS_PER_TURN
    """Most calls of one turn that run at all; each call past it gets an error result."""

    def __post_init__(self) -> None:
        for name in ("max_parallel", "max_per_turn"):
            if getattr(self, name) < 1:
                raise InvalidValueError(f"{name} must be at least 1, not {getattr(self, name)}")

    def refusal(self, asked: int) -> str:
        """The error result of each call past `max_per_turn` in a turn that asked for `asked`."""
        return (
            f"not run: this turn asked for {asked} tool calls and at most {self.max_per_turn}"
            " run per turn (max_tool_calls_per_turn); ask for fewer at once"
        )


class Arguments(BaseModel):
    """Base of every tool's arguments: strict JSON types, no unknown names."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", strict=True, use_attribute_docstrings=True
    )


ArgsT = TypeVar("ArgsT", bound=Arguments)


@dataclass(frozen=True)
class BuiltinTool(Generic[ArgsT]):
    """A tool implemented by taskline; satisfies `taskline.protocols.Tool`."""

    name: str
    """Name the model calls it by."""
    description: str
    """What the tool does and when to use it, written for the model."""
    arguments: type[ArgsT]
    """The arguments as a pydantic model; `parameters` is generated from it."""
    execute: Callable[[ArgsT, ToolContext], Awaitable[str]]
    """Does the work and returns the output; raises `ToolFailure` or `OSError` on a problem."""
    submission: Callable[[ArgsT], str] | None = None
    """For `submit_work`: the completion summary taken from the arguments."""
    parameters: dict[str, Any] = field(init=False)
    """JSON Schema of the arguments, as offered to the model."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", arguments_schema(self.arguments))

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolResult:
        """Check `arguments` and run the tool in `context`; any problem becomes an error result."""
        started = time.perf_counter()
        submission = None
        malformed = False
        try:
            args = self.arguments.model_validate(arguments)
            output = await self.execute(args, context)
            if self.submission is not None:
                submission = self.submission(args)
            is_error = False
        except ValidationError as exc:
            output = bounded(f"invalid arguments for {self.name}: {describe_arguments_error(exc)}")
            is_error = malformed = True
        except ToolFailure as exc:
            output = str(exc)
            is_error = True
        except OSError as exc:
            output = describe_os_error(exc, context.workspace)
            is_error = True
        if is_error:  # a message may quote the model's own arguments, of any length
            output = cap_text(output, context.max_output_bytes)
        return ToolResult(
            output=output,
            is_error=is_error,
            duration_ms=(time.perf_counter() - started) * 1000,
            submission=submission,
            malformed=malformed,
        )


def arguments_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of `model` without pydantic's titles and null defaults.

    Titles repeat the property names and cost the model tokens; a null default
    only says that the argument may be left out, which `required` says already.
    """
    return _clean(model.model_json_schema())


def _clean(schema: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" or (key == "default" and value is None):
            continue
        if key == "properties" and isinstance(value, dict):
            # property names are data here, not schema keywords: keep every one
            cleaned[key] = {name: _clean(sub) for name, sub in value.items()}
        elif isinstance(value, dict):
            cleaned[key] = _clean(value)
        else:
            cleaned[key] = value
    return cleaned


def describe_arguments_error(exc: ValidationError) -> str:
    """`name: problem; other: problem`, one problem per argument.

    An optional argument is a union with None, and pydantic reports a wrong
    value once per member of the union; the first report is the useful one.
    """
    problems: dict[str, str] = {}
    for error in exc.errors():
        where = str(error["loc"][0]) if error["loc"] else ""
        problems.setdefault(where, error["msg"].removeprefix("Value error, "))
    if "" in problems:  # the arguments as a whole were not an object
        return "arguments must be a JSON object"
    return "; ".join(f"{where}: {message}" for where, message in problems.items())


def describe_os_error(exc: OSError, workspace: Workspace) -> str:
    """`No such file or directory: 'notes/a.txt'`, the path shown relative to the workspace."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return reason
    return f"{reason}: {workspace.display(exc.filename)!r}"
