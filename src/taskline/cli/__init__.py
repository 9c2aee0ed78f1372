"""The `taskline` command line: a thin layer over `taskline.Taskline`.

Exit codes: 0 success; 1 the operation was refused (illegal move, conflict, not
found, invalid value) with one line on stderr; 2 the command line itself is wrong.
"""

import logging

from taskline.cli import agents, demo, mcp, model, serve, tasks, work, worker
from taskline.cli.common import app
from taskline.store.base import one_line_for_known_faults

__all__ = ["agents", "app", "demo", "main", "mcp", "model", "serve", "tasks", "work", "worker"]


def main() -> None:
    """Entry point of the `taskline` script."""
    # Notices (an unknown price, the small local model) are one plain line on stderr.
    logging.basicConfig(level=logging.WARNING, format="note: %(message)s")
    # A database that goes away mid-command is one line from the command; background
    # threads that log it (DBOS's, SQLAlchemy's pool) add no traceback under it.
    for handler in logging.getLogger().handlers:
        handler.addFilter(one_line_for_known_faults)
    app()
