"""Time-sortable ids: 26 characters of Crockford base32, like a ULID.

The first ten characters are the creation time in milliseconds, so ids sort in
creation order in every database and in a plain `ls`; the other sixteen are
random, so processes on different machines never collide.
"""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 26


def new_id(now_ms: int | None = None) -> str:
    """A new id; `now_ms` fixes the time part (for tests)."""
    millis = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    value = (millis << 80) | secrets.randbits(80)
    chars = []
    for _ in range(ID_LENGTH):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))
