"""Time-sortable ids: 26 characters of Crockford base32, like a monotonic ULID.

The first ten characters are the creation time in milliseconds, so ids sort in
creation order in every database and in a plain `ls`; the other sixteen are
random, so processes on different machines never collide. Within one process,
an id made in the same millisecond as the last one is the last one plus one, so
records written in a burst still sort in the order they were made.
"""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 26
_RANDOM_BITS = 80

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
