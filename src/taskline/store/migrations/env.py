"""Alembic environment: migrations always run on a connection taskline hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from taskline.store.tables import metadata

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "taskline migrations run through taskline.store.migrate, not the alembic CLI"
    )

# Batch mode lets later migrations alter SQLite tables, which cannot ALTER COLUMN.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
