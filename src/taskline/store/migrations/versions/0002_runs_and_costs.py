"""Runs, turns, tool calls, cost records, artifacts, reviews and task metrics.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taskline.store.types import Money, UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("summary", sa.Text, nullable=True))
        batch.add_column(sa.Column("failure_category", sa.String(32), nullable=True))
        batch.add_column(sa.Column("failure_message", sa.Text, nullable=True))
    op.create_table(
        "runs",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("task_id", sa.String(26), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("feedback", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text, nullable=True),
        sa.Column("failure_category", sa.String(32), nullable=True),
        sa.Column("failure_message", sa.Text, nullable=True),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("ended_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        _fk("runs", "task_id", "tasks"),
        sa.UniqueConstraint("task_id", "number", name="uq_runs_task_id_number"),
    )
    op.create_table(
        "turns",
        sa.Column("run_id", sa.String(26), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("finish_reason", sa.String(32), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("ended_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "number", name="pk_turns"),
        _fk("turns", "run_id", "runs"),
    )
    op.create_table(
        "tool_calls",
        sa.Column("run_id", sa.String(26), nullable=False),
        sa.Column("turn", sa.Integer, nullable=False),
        sa.Column("index", sa.Integer, nullable=False),
        sa.Column("call_id", sa.Text, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("arguments", sa.JSON, nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("is_error", sa.Boolean, nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "turn", "index", name="pk_tool_calls"),
        _fk("tool_calls", "run_id", "runs"),
    )
    op.create_table(
        "cost_records",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("task_id", sa.String(26), nullable=False),
        sa.Column("run_id", sa.String(26), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("turn", sa.Integer, nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("cache_read_tokens", sa.Integer, nullable=False),
        sa.Column("cache_write_tokens", sa.Integer, nullable=False),
        sa.Column("reasoning_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", Money, nullable=True),
        sa.Column("price_source", sa.String(16), nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("finish_reason", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("attempt_errors", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("response", sa.JSON, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cost_records"),
        _fk("cost_records", "task_id", "tasks"),
        _fk("cost_records", "run_id", "runs"),
        sa.UniqueConstraint(
            "run_id", "purpose", "turn", name="uq_cost_records_run_id_purpose_turn"
        ),
    )
    op.create_index("ix_cost_records_task_id", "cost_records", ["task_id"])
    op.create_table(
        "artifacts",
        sa.Column("run_id", sa.String(26), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("task_id", sa.String(26), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "path", name="pk_artifacts"),
        _fk("artifacts", "run_id", "runs"),
        _fk("artifacts", "task_id", "tasks"),
    )
    op.create_index("ix_artifacts_task_id", "artifacts", ["task_id"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("task_id", sa.String(26), nullable=False),
        sa.Column("run_id", sa.String(26), nullable=False),
        sa.Column("reviewer", sa.Text, nullable=False),
        sa.Column("approved", sa.Boolean, nullable=False),
        sa.Column("feedback", sa.Text, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reviews"),
        _fk("reviews", "task_id", "tasks"),
        _fk("reviews", "run_id", "runs"),
    )
    op.create_index("ix_reviews_task_id", "reviews", ["task_id"])
    op.create_table(
        "task_metrics",
        sa.Column("task_id", sa.String(26), nullable=False),
        sa.Column("turns_per_task", sa.Integer, nullable=False),
        sa.Column("tokens_per_task", sa.Integer, nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("cost_per_task", Money, nullable=True),
        sa.Column("unpriced_calls", sa.Integer, nullable=False),
        sa.Column("duration_seconds", sa.Float, nullable=False),
        sa.Column("tool_calls", sa.Integer, nullable=False),
        sa.Column("runs", sa.Integer, nullable=False),
        sa.Column("retries", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("task_id", name="pk_task_metrics"),
        _fk("task_metrics", "task_id", "tasks"),
    )


def downgrade() -> None:
    for table in ("task_metrics", "reviews", "artifacts", "cost_records", "tool_calls", "turns"):
        op.drop_table(table)
    op.drop_table("runs")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("failure_message")
        batch.drop_column("failure_category")
        batch.drop_column("summary")
