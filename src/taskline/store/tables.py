"""The tables taskline keeps, as SQLAlchemy Core metadata.

The schema is created and changed only by the numbered migrations in
`migrations/versions`; a test checks that these definitions and the migrated
database agree.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from taskline.lifecycle import ORDER
from taskline.store.types import Money, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

STATUS_VALUES = ", ".join(f"'{s.value}'" for s in ORDER)

REPORT_SUMMED = ("turns_per_task", "tokens_per_task", "cost_per_task_float", "duration_seconds")
"""The columns of `task_metrics` that order and add up the report's measures."""
REPORT_ORDERS = (
    ("turns_per_task",),
    ("tokens_per_task",),
    ("cost_per_task_float", "cost_per_task"),
    ("duration_seconds",),
)
"""Each measure's index columns after the group's: the order, and the value if another."""

COST_AS_FLOAT = "CAST(cost_per_task AS DOUBLE PRECISION)"
"""`task_metrics.cost_per_task_float`: the same SQL turns NUMERIC (PostgreSQL) and text
(SQLite) into a float."""

agents = Table(
    "agents",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("model", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("instructions", Text, nullable=False),
    Column("skills", JSON, nullable=False),
    Column("tools", JSON, nullable=True),
    Column("budget_usd", Money, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("budget_tokens", Integer, nullable=True),
    Column("mcp", JSON, nullable=False, server_default=text("'[]'")),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("type", String(64), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("acceptance_criteria", JSON, nullable=False),
    Column("checks", JSON, nullable=False),
    Column("expected_artifacts", JSON, nullable=False),
    Column("budget_usd", Money, nullable=True),
    Column("max_turns", Integer, nullable=True),
    Column("timeout_seconds", Float, nullable=True),
    Column("deadline", UtcDateTime, nullable=True),
    Column("assignee", String(64), ForeignKey("agents.name"), nullable=True),
    Column("reviewers", JSON, nullable=False),
    Column("human_review", Boolean, nullable=False),
    Column("max_rework", Integer, nullable=False),
    Column("workspace", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("summary", Text, nullable=True),
    Column("failure_category", String(32), nullable=True),
    Column("failure_message", Text, nullable=True),
    Column("budget_tokens", Integer, nullable=True),
    Column("check_timeout_seconds", Float, nullable=True),
    Column("ignore", JSON, nullable=False, server_default=text("'[]'")),
    Column("copy_dir", Text, nullable=True),
    CheckConstraint(f"status IN ({STATUS_VALUES})", name="status"),
    Index(None, "status"),
    Index(None, "assignee"),
)

task_dependencies = Table(
    "task_dependencies",
    metadata,
    Column("task_id", String(26), ForeignKey("tasks.id"), primary_key=True),
    Column("depends_on", String(26), ForeignKey("tasks.id"), primary_key=True),
    CheckConstraint("task_id <> depends_on", name="not_self"),
)

transitions = Table(
    "transitions",
    metadata,
    Column("task_id", String(26), ForeignKey("tasks.id"), primary_key=True),
    # (task_id, seq) is the key: two writers can never append the same step.
    Column("seq", Integer, primary_key=True),
    Column("from_status", String(16), nullable=True),
    Column("to_status", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=False),
)

task_events = Table(
    "task_events",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("task_id", String(26), ForeignKey("tasks.id"), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", Text, nullable=False),
    Column("detail", JSON, nullable=False),
    Index(None, "task_id"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("task_id", String(26), ForeignKey("tasks.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("agent", String(64), nullable=False),
    Column("model", Text, nullable=False),
    Column("feedback", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("summary", Text, nullable=True),
    Column("failure_category", String(32), nullable=True),
    Column("failure_message", Text, nullable=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("sandbox", String(16), nullable=True),
    Column("trace_id", String(32), nullable=True),
    Column("trace_span_id", String(16), nullable=True),
    # One run per number: a resumed or duplicated start cannot open run 2 twice.
    UniqueConstraint("task_id", "number"),
)

turns = Table(
    "turns",
    metadata,
    Column("run_id", String(26), ForeignKey("runs.id"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("finish_reason", String(32), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=False),
)

tool_calls = Table(
    "tool_calls",
    metadata,
    Column("run_id", String(26), ForeignKey("runs.id"), primary_key=True),
    Column("turn", Integer, primary_key=True),
    Column("index", Integer, primary_key=True),
    Column("call_id", Text, nullable=False),
    Column("name", String(64), nullable=False),
    Column("arguments", JSON, nullable=False),
    Column("output", Text, nullable=False),
    Column("is_error", Boolean, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("submission", Text, nullable=True),
    Column("malformed", Boolean, nullable=False, server_default=false()),
)

cost_records = Table(
    "cost_records",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("task_id", String(26), ForeignKey("tasks.id"), nullable=False),
    Column("run_id", String(26), ForeignKey("runs.id"), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("turn", Integer, nullable=False),
    Column("agent", String(64), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("model", Text, nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cache_read_tokens", Integer, nullable=False),
    Column("cache_write_tokens", Integer, nullable=False),
    Column("reasoning_tokens", Integer, nullable=False),
    Column("cost_usd", Money, nullable=True),
    Column("price_source", String(16), nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("finish_reason", String(32), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("attempt_errors", JSON, nullable=False),
    Column("error", Text, nullable=True),
    Column("response", JSON, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("raw_usage", JSON, nullable=True),
    Column("state", String(16), nullable=False, server_default=text("'answered'")),
    Index(None, "task_id"),
    # A call is recorded once, even when a crashed run is replayed; only calls lost in a
    # crash (sent, answer never recorded) stand beside the one that replaced them.
    Index(
        "uq_cost_records_live_call",
        "run_id",
        "purpose",
        "turn",
        unique=True,
        sqlite_where=text("state != 'lost'"),
        postgresql_where=text("state != 'lost'"),
    ),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_id", String(26), ForeignKey("runs.id"), primary_key=True),
    Column("path", Text, primary_key=True),
    Column("task_id", String(26), ForeignKey("tasks.id"), nullable=False),
    Column("change", String(16), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Index(None, "task_id"),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("task_id", String(26), ForeignKey("tasks.id"), nullable=False),
    Column("run_id", String(26), ForeignKey("runs.id"), nullable=False),
    Column("reviewer", Text, nullable=False),
    Column("approved", Boolean, nullable=False),
    Column("feedback", Text, nullable=False),
    Column("details", JSON, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("duration_seconds", Float, nullable=True),
    Index(None, "task_id"),
)

task_metrics = Table(
    "task_metrics",
    metadata,
    Column("task_id", String(26), ForeignKey("tasks.id"), primary_key=True),
    Column("turns_per_task", Integer, nullable=False),
    Column("tokens_per_task", Integer, nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cost_per_task", Money, nullable=True),
    Column("unpriced_calls", Integer, nullable=False),
    Column("duration_seconds", Float, nullable=False),
    Column("tool_calls", Integer, nullable=False),
    Column("runs", Integer, nullable=False),
    Column("retries", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("review_seconds", Float, nullable=False, server_default=text("0")),
    Column("agent_seconds", Float, nullable=False, server_default=text("0")),
    Column("lost_calls", Integer, nullable=False, server_default=text("0")),
    # What the metrics report groups and orders by, kept here so that it reads this table
    # alone, through its indexes: the agent and model of the task's last run ("-" before
    # any run, as the report shows it; the store updates them when a run starts), and the
    # cost as a float, which SQLite, keeping money as text, could not order or add up.
    Column("last_agent", String(64), nullable=False, server_default=text("'-'")),
    Column("last_model", Text, nullable=False, server_default=text("'-'")),
    Column("cost_per_task_float", Float, Computed(COST_AS_FLOAT), nullable=True),
    # The report walks these to the values at its percentiles, overall and per group (the
    # exact cost comes along, so the walk never leaves the index)...
    *(
        Index(None, *group, *orders)
        for orders in REPORT_ORDERS
        for group in ((), ("last_agent",), ("last_model",))
    ),
    # ... and adds up every measure per group from this one, in its order.
    Index("ix_task_metrics_report_sums", "last_agent", "last_model", *REPORT_SUMMED),
)

workers = Table(
    "workers",
    metadata,
    Column("id", String(128), primary_key=True),
    # running, stopped (left cleanly) or adopted (its runs taken over by `adopted_by`)
    Column("status", String(16), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("adopted_by", String(128), nullable=True),
)
