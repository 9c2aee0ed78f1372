"""The MCP servers each agent may use, with their allow-lists.

Revision ID: 0008
Revises: 0006 (for now: 0007 is being added on another branch; the merge chains this
    one after it)
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "agents", sa.Column("mcp", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
    )


def downgrade() -> None:
    # batch mode: SQLite drops a column by copying the table
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("mcp")
