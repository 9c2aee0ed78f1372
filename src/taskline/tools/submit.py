"""The submit_work tool: how an agent says it has finished."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from taskline.tools.base import Arguments, BuiltinTool, ToolContext


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


class SubmitWorkArguments(Arguments):
    summary: Annotated[str, AfterValidator(_not_blank)]
    """What was done, where the results are and anything the reviewer should know."""


async def submit_work(args: SubmitWorkArguments, context: ToolContext) -> str:
    return "work submitted for review"


SUBMIT_WORK = BuiltinTool(
    name="submit_work",
    description=(
        "Finish the task: call this once the work is done and meets the acceptance criteria,"
        " with a summary of what was done. It ends your work on the task."
    ),
    arguments=SubmitWorkArguments,
    execute=submit_work,
    submission=lambda args: args.summary,
)
