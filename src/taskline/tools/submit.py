"""The submit_work tool: how an agent says it has finished."""

from __future__ import annotations

from taskline.models import NonBlank
from taskline.tools.base import Arguments, BuiltinTool, ToolContext


class SubmitWorkArguments(Arguments):
    summary: NonBlank
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
