"""Records listed "oldest first" (cost records, reviews) are ordered by their ids."""

from __future__ import annotations

from taskline.ids import new_id


def test_ids_made_in_one_millisecond_sort_in_creation_order() -> None:
    ids = [new_id(now_ms=1_700_000_000_000) for _ in range(20)]

    assert ids == sorted(ids)
