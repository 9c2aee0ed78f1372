"""Keeping tool output within a budget, and saying how much was left out."""

from __future__ import annotations

import codecs


class OutputCap:
    """Collects output as it arrives, keeping only its beginning and its end.

    Memory stays bounded whatever a command prints. The end is kept as well as
    the beginning because that is where a failing command says what went wrong.
    """

    def __init__(self, max_bytes: int) -> None:
        self._head_limit = max_bytes - max_bytes // 2
        self._tail_limit = max_bytes // 2
        self._head = bytearray()
        self._tail = bytearray()
        self.total_bytes = 0
        """Bytes received so far, kept or not."""

    def add(self, chunk: bytes) -> None:
        """Take the next piece of output."""
        self.total_bytes += len(chunk)
        room = self._head_limit - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if chunk and self._tail_limit > 0:
            self._tail += chunk
            del self._tail[: -self._tail_limit]

    @property
    def cut_bytes(self) -> int:
        """Bytes received but not kept."""
        return self.total_bytes - len(self._head) - len(self._tail)

    def text(self) -> str:
        """The output kept, decoded as UTF-8, with a note where bytes were cut out."""
        if not self.cut_bytes:
            return bytes(self._head + self._tail).decode("utf-8", errors="replace")
        # The cut may fall inside a character; drop its pieces rather than show U+FFFD.
        head = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(bytes(self._head))
        tail = bytes(self._tail).lstrip(bytes(range(0x80, 0xC0)))
        note = f"\n[... {self.cut_bytes} bytes cut ...]\n"
        return head + note + tail.decode("utf-8", errors="replace")


def cap_text(text: str, max_bytes: int) -> str:
    """`text`, or its beginning and end with a note of how many bytes were cut."""
    cap = OutputCap(max_bytes)
    cap.add(text.encode("utf-8"))
    return cap.text()
