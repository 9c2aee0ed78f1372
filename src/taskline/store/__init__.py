"""Where taskline keeps its data: SQLite by default, PostgreSQL to scale out."""

from taskline.store.sql import SqlStore

__all__ = ["SqlStore"]
