"""A fresh database ends with exactly the expected schema, on both backends."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from taskline.errors import StoreError
from taskline.store import SqlStore
from taskline.store.engine import create_store_engine
from taskline.store.migrate import HEAD_REVISION, MIGRATIONS_DIR, upgrade
from taskline.store.tables import metadata
from tests.conftest import BACKENDS, new_database_url

EXPECTED_COLUMNS = {
    "agents": [
        "name", "model", "role", "instructions", "skills", "tools", "budget_usd", "created_at",
        "budget_tokens", "mcp",
    ],
    "tasks": [
        "id", "title", "description", "type", "priority", "acceptance_criteria", "checks",
        "expected_artifacts", "budget_usd", "max_turns", "timeout_seconds", "deadline",
        "assignee", "reviewers", "human_review", "max_rework", "workspace", "status",
        "created_at", "updated_at", "summary", "failure_category", "failure_message",
        "budget_tokens", "check_timeout_seconds", "ignore", "copy_dir",
    ],
    "task_dependencies": ["task_id", "depends_on"],
    "transitions": ["task_id", "seq", "from_status", "to_status", "at", "actor", "reason"],
    "task_events": ["id", "task_id", "kind", "at", "actor", "detail"],
    "runs": [
        "id", "task_id", "number", "trigger", "agent", "model", "feedback", "status", "summary",
        "failure_category", "failure_message", "started_at", "ended_at", "sandbox",
        "trace_id", "trace_span_id",
    ],
    "turns": ["run_id", "number", "text", "finish_reason", "started_at", "ended_at"],
    "tool_calls": [
        "run_id", "turn", "index", "call_id", "name", "arguments", "output", "is_error",
        "duration_ms", "submission", "malformed",
    ],
    "cost_records": [
        "id", "task_id", "run_id", "purpose", "turn", "agent", "provider", "model",
        "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
        "reasoning_tokens", "cost_usd", "price_source", "latency_ms", "finish_reason",
        "attempts", "attempt_errors", "error", "response", "created_at", "raw_usage", "state",
    ],
    "artifacts": ["run_id", "path", "task_id", "change", "size", "sha256"],
    "reviews": ["id", "task_id", "run_id", "reviewer", "approved", "feedback", "details", "at",
                "duration_seconds"],
    "task_metrics": [
        "task_id", "turns_per_task", "tokens_per_task", "input_tokens", "output_tokens",
        "cost_per_task", "unpriced_calls", "duration_seconds", "tool_calls", "runs", "retries",
        "updated_at", "review_seconds", "agent_seconds", "last_agent", "last_model",
        "cost_per_task_float", "lost_calls",
    ],
    "workers": ["id", "status", "started_at", "last_seen_at", "adopted_by"],
    "alembic_version": ["version_num"],
}  # fmt: skip


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return new_database_url(request.param, tmp_path, request)


def test_fresh_database_has_expected_tables_and_columns(empty_url: str) -> None:
    store = SqlStore.open(empty_url)
    try:
        inspector = inspect(store.engine)
        tables = set(inspector.get_table_names())
        assert tables == set(EXPECTED_COLUMNS)
        for table, columns in EXPECTED_COLUMNS.items():
            assert [c["name"] for c in inspector.get_columns(table)] == columns, table
        assert inspector.get_pk_constraint("transitions")["constrained_columns"] == [
            "task_id",
            "seq",
        ]
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
                HEAD_REVISION
            )
    finally:
        store.close()


def test_migrations_match_table_definitions(empty_url: str) -> None:
    store = SqlStore.open(empty_url)
    try:
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        store.close()


def test_head_revision_constant_matches_the_scripts() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_opening_twice_migrates_once(empty_url: str) -> None:
    SqlStore.open(empty_url).close()
    store = SqlStore.open(empty_url)
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        store.close()


def test_database_from_a_newer_taskline_is_refused(empty_url: str) -> None:
    store = SqlStore.open(empty_url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.close()
    with pytest.raises(
        StoreError,
        match="^cannot migrate the database: Can't locate revision identified by '9999'$",
    ):
        SqlStore.open(empty_url)


def test_unreachable_database_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(
        StoreError, match=r"^cannot open database sqlite:///.*: unable to open database file$"
    ):
        SqlStore.open(f"sqlite:///{tmp_path}/missing-dir/x.db")


def test_old_database_is_migrated_on_first_use_keeping_its_data(empty_url: str) -> None:
    engine = create_store_engine(empty_url)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tasks (id, title, description, type, priority, acceptance_criteria,"
                " checks, expected_artifacts, reviewers, human_review, max_rework, status,"
                " created_at, updated_at) VALUES ('T1', 'old task', '', 'general', 'normal',"
                " '[]', '[]', '[]', '[]', false, 2, 'CREATED',"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
    engine.dispose()
    store = SqlStore.open(empty_url)
    try:
        task = store.get_task("T1")
        assert (task.title, task.summary, task.failure_category, task.copy_dir) == (
            "old task", None, None, None
        )  # fmt: skip
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
                HEAD_REVISION
            )
    finally:
        store.close()


def test_an_agent_stored_before_mcp_reads_back_with_no_servers(empty_url: str) -> None:
    engine = create_store_engine(empty_url)
    upgrade(engine, "0006")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO agents (name, model, role, instructions, skills, tools, created_at)"
                " VALUES ('old', 'local:smollm2', '', '', '[]', NULL, '2026-01-01 00:00:00')"
            )
        )
    engine.dispose()
    store = SqlStore.open(empty_url)
    try:
        assert store.get_agent("old").mcp == ()
    finally:
        store.close()


def test_metrics_stored_before_0009_are_grouped_by_their_last_run(empty_url: str) -> None:
    engine = create_store_engine(empty_url)
    upgrade(engine, "0006")
    at = "'2026-01-01 00:00:00'"
    with engine.begin() as conn:
        for task_id in ("T1", "T2"):
            conn.execute(
                text(
                    "INSERT INTO tasks (id, title, description, type, priority,"
                    " acceptance_criteria, checks, expected_artifacts, reviewers, human_review,"
                    f" max_rework, status, created_at, updated_at, ignore) VALUES ('{task_id}',"
                    f" 'old task', '', 'general', 'normal', '[]', '[]', '[]', '[]', false, 2,"
                    f" 'COMPLETED', {at}, {at}, '[]')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO task_metrics (task_id, turns_per_task, tokens_per_task,"
                    " input_tokens, output_tokens, cost_per_task, unpriced_calls,"
                    " duration_seconds, tool_calls, runs, retries, updated_at) VALUES"
                    f" ('{task_id}', 2, 20, 15, 5, 0.25, 0, 1.5, 1, 1, 0, {at})"
                )
            )
        for number, agent in ((1, "coder"), (2, "reviewer")):
            conn.execute(
                text(
                    "INSERT INTO runs (id, task_id, number, trigger, agent, model, feedback,"
                    f" status, started_at) VALUES ('R{number}', 'T1', {number}, 'first', '{agent}',"
                    f" 'm:{number}', '', 'submitted', {at})"
                )
            )
    engine.dispose()
    store = SqlStore.open(empty_url)
    try:
        rows, total = store.page_metrics(limit=None)
        with store.engine.connect() as conn:
            floats = conn.execute(text("SELECT cost_per_task_float FROM task_metrics")).scalars()
            assert list(floats) == [0.25, 0.25]
    finally:
        store.close()
    assert total == 2
    assert [(row.task_id, row.agent, row.model) for row, _at in rows] == [
        ("T1", "reviewer", "m:2"),
        ("T2", "-", "-"),
    ]


def test_calls_recorded_before_0010_are_answered_and_a_lost_one_may_join_them(
    empty_url: str,
) -> None:
    engine = create_store_engine(empty_url)
    upgrade(engine, "0009")
    at = "'2026-01-01 00:00:00'"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tasks (id, title, description, type, priority, acceptance_criteria,"
                " checks, expected_artifacts, reviewers, human_review, max_rework, status,"
                f" created_at, updated_at, ignore) VALUES ('T1', 'old task', '', 'general',"
                f" 'normal', '[]', '[]', '[]', '[]', false, 2, 'IN_PROGRESS', {at}, {at}, '[]')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO runs (id, task_id, number, trigger, agent, model, feedback,"
                f" status, started_at) VALUES ('R1', 'T1', 1, 'first', 'coder', 'm', '',"
                f" 'running', {at})"
            )
        )
        conn.execute(
            text(
                "INSERT INTO cost_records (id, task_id, run_id, purpose, turn, agent, provider,"
                " model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,"
                " reasoning_tokens, cost_usd, price_source, latency_ms, finish_reason,"
                " attempts, attempt_errors, created_at) VALUES ('C1', 'T1', 'R1', 'agent', 1,"
                " 'coder', 'p', 'm', 10, 2, 0, 0, 0, '0.5', 'provider', 1.0, 'stop', 1, '[]',"
                f" {at})"
            )
        )
        conn.execute(
            text(
                "INSERT INTO tool_calls (run_id, turn, index, call_id, name, arguments, output,"
                " is_error, duration_ms) VALUES ('R1', 1, 0, 'c', 'read_file', '{}', 'x',"
                " false, 1.0)".replace(" index,", ' "index",')
            )
        )
    engine.dispose()
    store = SqlStore.open(empty_url)
    try:
        [record] = store.cost_records("T1")
        assert (record.state, record.cost_usd, record.input_tokens) == (
            "answered", Decimal("0.5"), 10
        )  # fmt: skip
        [call] = store.tool_calls("R1")
        assert (call.submission, call.malformed) == (None, False)
        # The old key refused a second record of turn 1; now a lost one stands beside it.
        store.add_cost_record(record.model_copy(update={"id": "C0", "state": "lost"}))
        assert [r.id for r in store.cost_records("T1")] == ["C0", "C1"]
        duplicate = record.model_copy(update={"id": "C2"})
        assert store.add_cost_record(duplicate).id == "C1"
    finally:
        store.close()
