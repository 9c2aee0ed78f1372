"""Checks with a time limit and a stored wall time; review and agent time in the metrics;
paths a task's artifacts leave out.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("check_timeout_seconds", sa.Float(), nullable=True))
    op.add_column(
        "tasks", sa.Column("ignore", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
    )
    op.add_column("reviews", sa.Column("duration_seconds", sa.Float(), nullable=True))
    for name in ("review_seconds", "agent_seconds"):
        op.add_column(
            "task_metrics",
            sa.Column(name, sa.Float(), nullable=False, server_default=sa.text("0")),
        )


def downgrade() -> None:
    # batch mode: SQLite drops a column by copying the table
    with op.batch_alter_table("task_metrics") as batch:
        batch.drop_column("agent_seconds")
        batch.drop_column("review_seconds")
    with op.batch_alter_table("reviews") as batch:
        batch.drop_column("duration_seconds")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("ignore")
        batch.drop_column("check_timeout_seconds")
