"""Time-sortable ids: 26 characters of Crockford base32, like a monotonic ULID.

The first ten characters are the creation time in milliseconds, so ids sort in
creation order in every database and in a plain `ls`; the other sixteen are
random, so processes on different machines never collide. Within one process,
an id made in the same millisecond as the last one is the last one plus one, so
records written in a burst still sort in the order they were made.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterable
from typing import Literal

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 26
_RANDOM_BITS = 80

_DIGITS = frozenset(_ALPHABET)

IdKind = Literal["task", "run"]
"""The records people refer to by id (or by its prefix)."""

_lock = threading.Lock()
_last_value = 0


def _encode(value: int) -> str:
    chars = []
    for _ in range(ID_LENGTH):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(now_ms: int | None = None) -> str:
    """A new id, greater than every id this process made before; `now_ms` fixes the time."""
    global _last_value
    millis = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    with _lock:
        value = (millis << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)
        if value <= _last_value:
            # Same millisecond (or a clock step back): keep the order, as monotonic ULIDs do.
            value = _last_value + 1
        _last_value = value
    return _encode(value)


def normalized_prefix(text: str) -> str | None:
    """`text` as the start of an id (any case, surrounding blanks ignored), or None when
    no id could start with it."""
    prefix = text.strip().upper()
    if not prefix or len(prefix) > ID_LENGTH or not set(prefix) <= _DIGITS:
        return None
    return prefix


def short_ids(ids: Iterable[str], *, minimum: int = 8) -> dict[str, str]:
    """Each of `ids` cut to its shortest prefix of at least `minimum` characters that
    no other of `ids` starts with."""
    ordered = sorted(set(ids))
    lengths = dict.fromkeys(ordered, minimum)
    for a, b in zip(ordered, ordered[1:], strict=False):
        # neighbours in sort order share the longest prefixes: one past theirs is unique
        shared = len(os.path.commonprefix([a, b]))
        lengths[a] = max(lengths[a], shared + 1)
        lengths[b] = max(lengths[b], shared + 1)
    return {i: i[: lengths[i]] for i in ordered}
