"""What a check printed, made short enough to keep and clear enough to act on.

Output is cut on line boundaries, keeping its head (what ran) and its tail
(where test runners sum up), with a marker saying how much was left out.
The output of pytest and unittest is recognised by its shape, and every
failing test is named with its assertion lines, so an agent reworking its
code sees all of what failed, not the last screenful of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# Of a cut output, the share of its budget spent on the head; the rest is the tail,
# where pytest and unittest print their summaries.
HEAD_SHARE = 0.4
# Lines of assertion kept per failing test: enough for `assert 8 == 10` and its `where`.
LINES_PER_TEST = 3
# A line longer than this (a minified file, a data dump) is itself cut.
MAX_LINE_CHARS = 400


@dataclass(frozen=True)
class FailingTest:
    """One test a runner reported as failed or in error."""

    name: str
    """As the runner names it: `calc_test.py::T::test_add` or `test_add (calc_test.T.test_add)`."""
    lines: tuple[str, ...]
    """The assertion or exception lines, at most `LINES_PER_TEST`."""


def cut_lines(text: str, max_chars: int) -> str:
    """`text`, or its first and last whole lines within `max_chars`, with a one-line marker
    between them saying how many lines and characters were left out."""
    if len(text) <= max_chars:
        return text
    head_budget = int(max_chars * HEAD_SHARE)
    tail_budget = max_chars - head_budget
    # A line longer than half the head's room would crowd out all others: it is cut itself.
    line_chars = min(MAX_LINE_CHARS, head_budget // 2)
    lines = [_short(line, line_chars) for line in text.splitlines()]
    head_count = _fitting(lines, head_budget)
    tail_count = _fitting(list(reversed(lines[head_count:])), tail_budget)
    head = lines[:head_count]
    tail = lines[len(lines) - tail_count :]
    left_out = lines[head_count : len(lines) - tail_count]
    if not left_out:  # cutting long lines was enough
        return "\n".join([*head, *tail])
    chars = sum(len(line) + 1 for line in left_out)
    marker = f"[... {len(left_out)} lines ({chars:,} characters) left out ...]"
    return "\n".join([*head, marker, *tail])


def _short(line: str, max_chars: int = MAX_LINE_CHARS) -> str:
    if len(line) <= max_chars:
        return line
    return f"{line[:max_chars]}[... {len(line) - max_chars:,} characters cut]"


def _fitting(lines: Sequence[str], budget: int) -> int:
    """How many of `lines`, from the first, fit in `budget` characters with their newlines."""
    used = count = 0
    for line in lines:
        used += len(line) + 1
        if used > budget:
            break
        count += 1
    return count


# pytest: `FAILED path::name - message` in the short summary, `____ name ____` above each
# failure's traceback, `E   ...` for its assertion lines.
_PYTEST_SUMMARY = re.compile(r"^(?:FAILED|ERROR) (\S+?)(?: - (.*))?$")
_PYTEST_SECTION = re.compile(r"^_{3,} (.+?) _{3,}$")
_PYTEST_ASSERTION = re.compile(r"^E {1,8}(.*\S)")
_PYTEST_TALLY = re.compile(r"^=*\s*(?:\d+ (?:failed|passed|errors?|skipped)[, ]*)+.* in [\d.]+s")
# unittest: `FAIL: test_x (module.Class.test_x)` then a traceback ending in the exception.
_UNITTEST_HEADER = re.compile(r"^(FAIL|ERROR): (.+)$")
_UNITTEST_TALLY = re.compile(r"^Ran \d+ tests? in ")


def failing_tests(output: str) -> tuple[str, list[FailingTest]] | None:
    """The runner (`pytest` or `unittest`) and the tests it reported failing, or None
    when the output has the shape of neither."""
    lines = output.splitlines()
    if any(_UNITTEST_TALLY.match(line) for line in lines):
        found = list(_unittest_failures(lines))
        return ("unittest", found) if found else None
    if any(_PYTEST_TALLY.match(line) for line in lines) or any(
        _PYTEST_SUMMARY.match(line) for line in lines
    ):
        found = _pytest_failures(lines)
        return ("pytest", found) if found else None
    return None


def _pytest_failures(lines: Sequence[str]) -> list[FailingTest]:
    # Assertion lines come from the tracebacks, keyed by the section's short name
    # (`T.test_add`); names and order come from the summary (`calc_test.py::T::test_add`).
    assertions: dict[str, list[str]] = {}
    section: str | None = None
    for line in lines:
        if header := _PYTEST_SECTION.match(line):
            section = header.group(1)
            assertions.setdefault(section, [])
        elif section is not None and (found := _PYTEST_ASSERTION.match(line)):
            if len(assertions[section]) < LINES_PER_TEST:
                assertions[section].append(_short(found.group(1)))
    tests = []
    for line in lines:
        if summary := _PYTEST_SUMMARY.match(line):
            name, message = summary.group(1), summary.group(2)
            short = name.split("::", 1)[-1].replace("::", ".")
            kept = assertions.get(short) or ([_short(message)] if message else [])
            tests.append(FailingTest(name=name, lines=tuple(kept)))
    if tests:
        return tests
    # Run with -rN (no summary): the sections are all there is.
    return [FailingTest(name=name, lines=tuple(kept)) for name, kept in assertions.items()]


def _unittest_failures(lines: Sequence[str]) -> Iterator[FailingTest]:
    for index, line in enumerate(lines):
        if header := _UNITTEST_HEADER.match(line):
            yield FailingTest(name=header.group(2), lines=tuple(_exception_lines(lines, index + 1)))


def _exception_lines(lines: Sequence[str], start: int) -> list[str]:
    """The exception at the end of the traceback after `start`: its unindented lines."""
    kept: list[str] = []
    for line in lines[start:]:
        if line.startswith(("=====", "-----")) and kept:
            break
        if line and not line.startswith((" ", "Traceback", "-----")):
            if len(kept) < LINES_PER_TEST:
                kept.append(_short(line))
    return kept


def describe_failures(runner: str, tests: Sequence[FailingTest], max_chars: int) -> str:
    """Every failing test by name, each with its assertion lines while `max_chars` allows;
    past it names only, then a count of the names that did not fit."""
    header = f"{len(tests)} failing test{'' if len(tests) == 1 else 's'} ({runner}):"
    out = [header]
    used = len(header)
    for index, test in enumerate(tests):
        entry = "\n".join([f"- {test.name}", *(f"    {line}" for line in test.lines)])
        if used + len(entry) + 1 > max_chars:
            entry = f"- {test.name}"
        if used + len(entry) + 1 > max_chars:
            out.append(f"[... {len(tests) - index} more not shown]")
            break
        out.append(entry)
        used += len(entry) + 1
    return "\n".join(out)
