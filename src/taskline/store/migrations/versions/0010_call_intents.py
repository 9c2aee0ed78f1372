"""Every call that may have been billed is accounted for: a cost record is written as the
call's intent before it is sent (`pending`), completed with its answer (`answered`), or
kept as `lost` when a crash came in between. Only one record of a call may be live, so
the unique key of (run, purpose, turn) now leaves lost ones out. Tool calls keep the whole
result, so a resumed run replays them from here; task metrics count lost calls.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

LIVE = "state != 'lost'"


def upgrade() -> None:
    op.add_column(
        "cost_records",
        sa.Column("state", sa.String(16), nullable=False, server_default=sa.text("'answered'")),
    )
    # batch mode: SQLite drops a table constraint by copying the table
    with op.batch_alter_table("cost_records") as batch:
        batch.drop_constraint("uq_cost_records_run_id_purpose_turn", type_="unique")
    op.create_index(
        "uq_cost_records_live_call",
        "cost_records",
        ["run_id", "purpose", "turn"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )
    op.add_column("tool_calls", sa.Column("submission", sa.Text(), nullable=True))
    op.add_column(
        "tool_calls",
        sa.Column("malformed", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "task_metrics",
        sa.Column("lost_calls", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    op.execute("DELETE FROM cost_records WHERE state = 'lost'")
    op.drop_index("uq_cost_records_live_call", table_name="cost_records")
    with op.batch_alter_table("cost_records") as batch:
        batch.create_unique_constraint(
            "uq_cost_records_run_id_purpose_turn", ["run_id", "purpose", "turn"]
        )
        batch.drop_column("state")
    with op.batch_alter_table("tool_calls") as batch:
        batch.drop_column("malformed")
        batch.drop_column("submission")
    with op.batch_alter_table("task_metrics") as batch:
        batch.drop_column("lost_calls")
