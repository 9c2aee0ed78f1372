"""Raw provider usage beside the normalized counts; token budgets on tasks and agents.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cost_records", sa.Column("raw_usage", sa.JSON(), nullable=True))
    op.add_column("tasks", sa.Column("budget_tokens", sa.Integer(), nullable=True))
    op.add_column("agents", sa.Column("budget_tokens", sa.Integer(), nullable=True))


def downgrade() -> None:
    # batch mode: SQLite drops a column by copying the table
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("budget_tokens")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("budget_tokens")
    with op.batch_alter_table("cost_records") as batch:
        batch.drop_column("raw_usage")
