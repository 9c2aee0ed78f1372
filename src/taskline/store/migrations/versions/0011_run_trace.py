"""A run keeps the OpenTelemetry trace of its task execution, so that a run resumed after a
crash, in this process or another, sends its spans into the same trace.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("trace_id", sa.String(32), nullable=True))
    op.add_column("runs", sa.Column("trace_span_id", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("trace_span_id")
        batch.drop_column("trace_id")
