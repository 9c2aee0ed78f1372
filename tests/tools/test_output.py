"""Output is kept within its budget: the beginning and the end, and a note of what was cut."""

from __future__ import annotations

from taskline.tools.output import OutputCap, cap_text


def test_short_text_is_left_alone() -> None:
    assert cap_text("0123456789", 10) == "0123456789"


def test_long_text_keeps_its_beginning_and_end() -> None:
    assert cap_text("0123456789abcdefghij", 10) == "01234\n[... 10 bytes cut ...]\nfghij"


def test_an_odd_budget_gives_the_extra_byte_to_the_beginning() -> None:
    assert cap_text("0123456789abcdefghij", 5) == "012\n[... 15 bytes cut ...]\nij"


def test_a_character_cut_in_half_is_dropped_not_garbled() -> None:
    # "abcéxyzéfg" is 12 bytes, each "é" two of them (c3 a9).
    assert cap_text("abcéxyzéfg", 8) == "abc\n[... 4 bytes cut ...]\néfg"  # head ends on c3
    assert cap_text("abcéxyzéfg", 6) == "abc\n[... 6 bytes cut ...]\nfg"  # tail starts on a9


def test_chunks_are_counted_as_they_arrive() -> None:
    cap = OutputCap(4)
    for chunk in (b"ab", b"cdef", b"", b"gh"):
        cap.add(chunk)

    assert (cap.total_bytes, cap.cut_bytes, cap.text()) == (8, 4, "ab\n[... 4 bytes cut ...]\ngh")
