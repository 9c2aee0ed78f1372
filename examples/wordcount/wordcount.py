"""Count the words of a text: the function an agent is asked to write."""

from __future__ import annotations


def count_words(text: str) -> dict[str, int]:
    """How often each word occurs in `text`, case-insensitively, punctuation ignored."""
    raise NotImplementedError
