"""The `taskline` command line: a thin layer over `taskline.Taskline`.

Exit codes: 0 success; 1 the operation was refused (illegal move, conflict, not
found, invalid value) with one line on stderr; 2 the command line itself is wrong.
"""

import logging

from taskline.cli import agents, demo, mcp, model, serve, tasks, work, worker
from taskline.cli.common import app

__all__ = ["agents", "app", "demo", "main", "mcp", "model", "serve", "tasks", "work", "worker"]


def main() -> None:
    """Entry point of the `taskline` script."""
    # Notices (an unknown price, the small local model) are one plain line on stderr.
    logging.basicConfig(level=logging.WARNING, format="note: %(message)s")
    app()
