"""`taskline.protocols.Store` declares everything that can be called on a store.

Code that holds a store as `Any` (the DBOS workflows, say) is not checked by
mypy against the protocol; so the protocol declares the whole public surface of
`SqlStore`, and another implementation offers the same.
"""

from __future__ import annotations

from taskline.protocols import Store
from taskline.store import SqlStore

CONSTRUCTORS = {"open"}  # how a SqlStore is made, not something called on a store


def public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def test_store_protocol_declares_every_public_method_of_sql_store() -> None:
    assert public(SqlStore) - CONSTRUCTORS - public(Store) == set()
    assert public(Store) - public(SqlStore) == set()
