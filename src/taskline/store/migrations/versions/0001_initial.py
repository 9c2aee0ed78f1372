"""Agents, tasks, dependencies, the transition trail and task events.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taskline.store.types import Money, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Written out rather than read from the lifecycle module: a migration is a
# record of the schema at its time and must not change when the code does.
STATUSES = (
    "'CREATED', 'ASSIGNED', 'IN_PROGRESS', 'IN_REVIEW',"
    " 'COMPLETED', 'BLOCKED', 'CANCELLED', 'FAILED'"
)


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("instructions", sa.Text, nullable=False),
        sa.Column("skills", sa.JSON, nullable=False),
        sa.Column("tools", sa.JSON, nullable=True),
        sa.Column("budget_usd", Money, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_agents"),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("acceptance_criteria", sa.JSON, nullable=False),
        sa.Column("checks", sa.JSON, nullable=False),
        sa.Column("expected_artifacts", sa.JSON, nullable=False),
        sa.Column("budget_usd", Money, nullable=True),
        sa.Column("max_turns", sa.Integer, nullable=True),
        sa.Column("timeout_seconds", sa.Float, nullable=True),
        sa.Column("deadline", UtcDateTime, nullable=True),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("reviewers", sa.JSON, nullable=False),
        sa.Column("human_review", sa.Boolean, nullable=False),
        sa.Column("max_rework", sa.Integer, nullable=False),
        sa.Column("workspace", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
        sa.ForeignKeyConstraint(["assignee"], ["agents.name"], name="fk_tasks_assignee_agents"),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_tasks_status"),
    )
    op.create_index("ix_tasks_status", "tasks", ["status"])
    op.create_index("ix_tasks_assignee", "tasks", ["assignee"])
    op.create_table(
        "task_dependencies",
        sa.Column("task_id", sa.String(26), nullable=False),
        sa.Column("depends_on", sa.String(26), nullable=False),
        sa.PrimaryKeyConstraint("task_id", "depends_on", name="pk_task_dependencies"),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name="fk_task_dependencies_task_id_tasks"
        ),
        sa.ForeignKeyConstraint(
            ["depends_on"], ["tasks.id"], name="fk_task_dependencies_depends_on_tasks"
        ),
        sa.CheckConstraint("task_id <> depends_on", name="ck_task_dependencies_not_self"),
    )
    op.create_table(
        "transitions",
        sa.Column("task_id", sa.String(26), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("task_id", "seq", name="pk_transitions"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name="fk_transitions_task_id_tasks"),
    )
    op.create_table(
        "task_events",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("task_id", sa.String(26), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_task_events"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name="fk_task_events_task_id_tasks"),
    )
    op.create_index("ix_task_events_task_id", "task_events", ["task_id"])


def downgrade() -> None:
    op.drop_table("task_events")
    op.drop_table("transitions")
    op.drop_table("task_dependencies")
    op.drop_index("ix_tasks_assignee", table_name="tasks")
    op.drop_index("ix_tasks_status", table_name="tasks")
    op.drop_table("tasks")
    op.drop_table("agents")
