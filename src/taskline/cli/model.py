"""`taskline model fetch`: the embedded local model's file, fetched once per machine."""

from __future__ import annotations

import typer

from taskline.cli.common import app
from taskline.llm.local_requirements import check_machine
from taskline.llm.model_file import SMOLLM2, fetch_model_file

model_app = typer.Typer(help="The embedded local model (local:smollm2).", no_args_is_help=True)
app.add_typer(model_app, name="model")


def ensure_local_model() -> str:
    """Check the machine, then fetch the model file unless it is here already; its path."""
    check_machine(SMOLLM2.ref)
    return str(fetch_model_file(SMOLLM2, say=lambda line: typer.echo(line, err=True)))


@model_app.command("fetch")
def fetch() -> None:
    """Fetch SmolLM2-135M-Instruct's file once (98 MB, checked against its pinned sha256).

    Prints where the file is. Does nothing more when it is there already.
    """
    typer.echo(ensure_local_model())
