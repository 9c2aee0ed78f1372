"""Bring a database to the schema this version of taskline expects.

Runs on first use of a store. The common case, a database already at the head
revision, costs one small query and never imports Alembic.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import Connection

from taskline.errors import StoreError
from taskline.store.engine import WRITE

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
HEAD_REVISION = "0011"
"""The newest migration; a test checks it matches the scripts in `migrations/versions`."""

# An arbitrary constant: the PostgreSQL advisory lock that serializes migrations
# when several workers start at once.
_PG_MIGRATION_LOCK = 0x7A51C11E


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(engine: Engine) -> None:
    """Migrate the database to `HEAD_REVISION` unless it is there already."""
    with engine.connect() as connection:
        if current_revision(connection) == HEAD_REVISION:
            return
    upgrade(engine)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations the database lacks up to `revision`, one process at a time."""
    from alembic import command
    from alembic.config import Config
    from alembic.util.exc import CommandError

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        connection = connection.execution_options(**WRITE)
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})"))
            config.attributes["connection"] = connection
            try:
                command.upgrade(config, revision)
            except CommandError as exc:
                # Typically a database written by a newer taskline than this one.
                raise StoreError(f"cannot migrate the database: {exc}") from exc
