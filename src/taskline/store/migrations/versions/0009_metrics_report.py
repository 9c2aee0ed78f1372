"""The metrics report in SQL: each task's metrics row carries the agent and model of its
last run and its cost as a float, with an index per measure, per measure and agent, and
per measure and model.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Frozen copies of what `taskline.store.tables` says today: a migration must not change
# when the tables module does.
COST_AS_FLOAT = "CAST(cost_per_task AS DOUBLE PRECISION)"
SUMMED = ("turns_per_task", "tokens_per_task", "cost_per_task_float", "duration_seconds")
ORDERS = (
    ("turns_per_task",),
    ("tokens_per_task",),
    ("cost_per_task_float", "cost_per_task"),
    ("duration_seconds",),
)
GROUPS = ((), ("last_agent",), ("last_model",))
SUMS_INDEX = "ix_task_metrics_report_sums"


def _walk_indexes() -> list[tuple[str, list[str]]]:
    columns = [[*group, *orders] for orders in ORDERS for group in GROUPS]
    return [("ix_task_metrics_" + "_".join(c), c) for c in columns]


def upgrade() -> None:
    # SQLite adds only VIRTUAL generated columns to a table; PostgreSQL before 18 has
    # only STORED ones.
    stored = op.get_bind().dialect.name != "sqlite"
    for name, kind in (("last_agent", sa.String(64)), ("last_model", sa.Text())):
        op.add_column(
            "task_metrics",
            sa.Column(name, kind, nullable=False, server_default=sa.text("'-'")),
        )
    op.add_column(
        "task_metrics",
        sa.Column(
            "cost_per_task_float",
            sa.Float(),
            sa.Computed(COST_AS_FLOAT, persisted=stored),
            nullable=True,
        ),
    )
    last_run = (
        "FROM runs WHERE runs.task_id = task_metrics.task_id ORDER BY runs.number DESC LIMIT 1"
    )
    op.execute(
        f"UPDATE task_metrics SET last_agent = COALESCE((SELECT runs.agent {last_run}), '-'),"
        f" last_model = COALESCE((SELECT runs.model {last_run}), '-')"
    )
    for name, columns in _walk_indexes():
        op.create_index(name, "task_metrics", columns)
    op.create_index(SUMS_INDEX, "task_metrics", ["last_agent", "last_model", *SUMMED])


def downgrade() -> None:
    op.drop_index(SUMS_INDEX, "task_metrics")
    for name, _columns in _walk_indexes():
        op.drop_index(name, "task_metrics")
    # batch mode: SQLite drops a column by copying the table
    with op.batch_alter_table("task_metrics") as batch:
        batch.drop_column("cost_per_task_float")
        batch.drop_column("last_model")
        batch.drop_column("last_agent")
