"""`taskline demo`: a real task, run by the embedded local model, from start to end."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import typer

from taskline import render
from taskline.cli.common import app
from taskline.cli.model import ensure_local_model
from taskline.cli.work import execute
from taskline.config import Config, durable_enabled
from taskline.lifecycle import Status
from taskline.service import Taskline

DEMO_AGENT = "clerk"
DEMO_INSTRUCTIONS = (
    "Do exactly what the task says with the write_file tool, then call submit_work"
    " with one sentence saying what you did."
)


@app.command("demo")
def demo() -> None:
    """Run a small real task on the embedded local model, in a fresh temporary home.

    No keys, no servers: SQLite and SmolLM2-135M-Instruct in this process. Prints
    the transition timeline, the summary, the artifacts and the metrics.
    """
    logging.getLogger("taskline").setLevel(logging.WARNING)
    ensure_local_model()  # once per machine; says so when it fetches
    with tempfile.TemporaryDirectory(prefix="taskline-demo-") as tmp:
        home = Path(tmp) / "home"
        workspace = Path(tmp) / "workspace"
        workspace.mkdir()
        # A fresh home and the embedded defaults, whatever the environment says,
        # except whether runs are durable (TASKLINE_DURABLE).
        with Taskline.open(home=home, config=Config(), env={}, durable=durable_enabled()) as tl:
            tl.add_agent(
                DEMO_AGENT,
                model="local:smollm2",
                role="careful file clerk",
                instructions=DEMO_INSTRUCTIONS,
                tools=["write_file"],
            )
            task = tl.create_task(
                "Write a greeting file",
                description=(
                    "Create a file named hello.txt in the workspace. Its content must be"
                    " the line: hello from taskline"
                ),
                criteria=["hello.txt exists and says hello"],
                checks=["grep -qi hello hello.txt"],
                expected_artifacts=["hello.txt"],
                max_turns=6,
                timeout_seconds=300,
                max_rework=1,
                workspace=workspace,
            )
            tl.assign(task.id, DEMO_AGENT)
            typer.echo(f"task {task.id}: {task.title}, on local:smollm2 (workspace {workspace})")
            done = execute(tl, task.id, None)
            render.task_detail(
                done, tl.transitions(task.id), tl.events(task.id), tl.detail(task.id)
            )
            if (workspace / "hello.txt").is_file():
                typer.echo(f"\nhello.txt: {(workspace / 'hello.txt').read_text().strip()}")
    if done.status is not Status.COMPLETED:
        typer.echo(f"error: the demo task ended {done.status}", err=True)
        raise typer.Exit(1)
