"""What the agent is told: who it is, then the whole task.

The agent sees everything a person assigning the work would say: title,
description, acceptance criteria, the checks its work will be run against,
expected artifacts, budget, deadline and tools; on rework, the review feedback.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from taskline.llm.types import Message, SystemMessage, ToolDefinition, UserMessage
from taskline.models import Agent, Task


def system_prompt(agent: Agent) -> str:
    """The agent's identity and way of working, and how a run ends."""
    lines = [f"You are {agent.name}" + (f", a {agent.role}." if agent.role else ".")]
    if agent.instructions:
        lines += ["", agent.instructions.strip()]
    if agent.skills:
        lines += ["", f"Your skills: {', '.join(agent.skills)}."]
    lines += [
        "",
        "You work on one task in a workspace directory, using only the tools you are given."
        " Paths are relative to the workspace. When the work meets every acceptance"
        " criterion, call submit_work with a short summary of what you did; that ends"
        " your turn and the work is reviewed.",
    ]
    return "\n".join(lines)


def task_prompt(
    task: Task,
    tools: Sequence[ToolDefinition],
    *,
    budget_usd: Decimal | None,
    feedback: str = "",
) -> str:
    """The task with its full context, as the first user message of a run."""
    sections = [f"# Task: {task.title}"]
    if task.description:
        sections.append(task.description.strip())
    sections.append(_bullets("Acceptance criteria", task.acceptance_criteria))
    sections.append(_bullets("Checks run on your work (each must exit with code 0)", task.checks))
    sections.append(_bullets("Expected artifacts", task.expected_artifacts))
    limits = [f"at most {task.max_turns} turns"] if task.max_turns else []
    if budget_usd is not None:
        limits.append(f"a budget of ${budget_usd} for model calls")
    if task.timeout_seconds:
        limits.append(f"{task.timeout_seconds:g} seconds")
    if limits:
        sections.append(f"## Limits\nYou have {', '.join(limits)}.")
    if task.deadline:
        sections.append(f"## Deadline\n{task.deadline.isoformat()}")
    sections.append(
        "## Tools\n" + "\n".join(f"- {tool.name}: {tool.description}" for tool in tools)
    )
    if feedback:
        sections.append(
            "## Review feedback on your previous attempt\n"
            f"{feedback.strip()}\nAddress every point, then call submit_work again."
        )
    return "\n\n".join(section for section in sections if section)


def first_messages(
    agent: Agent,
    task: Task,
    tools: Sequence[ToolDefinition],
    *,
    budget_usd: Decimal | None,
    feedback: str = "",
) -> list[Message]:
    """The conversation a run starts with."""
    return [
        SystemMessage(content=system_prompt(agent)),
        UserMessage(content=task_prompt(task, tools, budget_usd=budget_usd, feedback=feedback)),
    ]


def _bullets(heading: str, items: Sequence[str]) -> str:
    if not items:
        return ""
    return f"## {heading}\n" + "\n".join(f"- {item}" for item in items)
