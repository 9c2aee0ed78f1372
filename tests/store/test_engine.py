"""How the store sets up its SQLite connections."""

from __future__ import annotations

from pathlib import Path

from taskline.store import SqlStore


def test_a_sqlite_connection_keeps_a_page_cache_of_512_kib(tmp_path: Path) -> None:
    store = SqlStore.open(f"sqlite:///{tmp_path / 'taskline.db'}")
    try:
        with store.engine.connect() as connection:
            pragmas = [
                connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("cache_size", "journal_mode", "synchronous", "foreign_keys")
            ]
    finally:
        store.close()
    # cache_size in KiB when negative; synchronous 1 is NORMAL
    assert pragmas == [-512, "wal", 1, 1]
