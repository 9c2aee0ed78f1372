"""Several worker processes on one machine: `taskline worker --processes N`.

A worker is one Python process, so its runs share one core however high its
`--concurrency`. The supervisor starts one child per id, each a plain
`taskline worker`, and keeps them going until it is told to stop:

    a child dies        killed or crashed (a non-zero exit) while nobody is stopping
                        it: one line, and it starts again under the same id, which
                        resumes the runs it left unfinished; a child that dies more
                        than `RestartLimit.deaths` times within `window_seconds`
                        makes the supervisor give up and stop the others
    a child exits 0     someone stopped that one child on purpose: it stays stopped
    SIGTERM or SIGINT   passed on to every child as SIGTERM, then the supervisor waits
                        for them all (each finishes the steps in flight and exits)

It imports neither DBOS nor the rest of taskline: the children do the work.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any

from taskline.errors import WorkerProcessError

_Handler = Callable[[int, FrameType | None], Any] | int | None


@dataclass(frozen=True)
class RestartLimit:
    """How often one child may die before the supervisor stops starting it again."""

    deaths: int = 5
    """Deaths of one child tolerated within `window_seconds`; the next one ends supervision."""
    window_seconds: float = 60.0
    """The sliding window the deaths are counted in."""


def child_ids(name: str, processes: int) -> list[str]:
    """The ids of `processes` children of the worker `name`: NAME-1 … NAME-N."""
    return [f"{name}-{number}" for number in range(1, processes + 1)]


def how_it_ended(returncode: int) -> str:
    """`exited with code 1`, or `was killed by SIGKILL` for a negative return code."""
    if returncode >= 0:
        return f"exited with code {returncode}"
    try:
        return f"was killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"was killed by signal {-returncode}"


def supervise(
    commands: Mapping[str, Sequence[str]],
    *,
    report: Callable[[str], None],
    env: Mapping[str, str] | None = None,
    limit: RestartLimit = RestartLimit(),
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run one child per id in `commands` until SIGTERM or SIGINT, restarting the ones that die.

    Must run in the main thread (it handles signals). `report` gets one line per event
    worth telling (a child died and starts again). Returns when every child has exited
    cleanly; raises `WorkerProcessError` when one failed or died too often.
    """
    Supervisor(commands, report=report, env=env, limit=limit, clock=clock).run()


class Supervisor:
    """The children, their deaths, and what to do when one ends; see the module's docstring."""

    def __init__(
        self,
        commands: Mapping[str, Sequence[str]],
        *,
        report: Callable[[str], None],
        env: Mapping[str, str] | None,
        limit: RestartLimit,
        clock: Callable[[], float],
    ) -> None:
        self.commands = {name: list(command) for name, command in commands.items()}
        self.report = report
        self.env = env
        self.limit = limit
        self.clock = clock
        self.live: dict[str, subprocess.Popen[bytes]] = {}
        self.signalled: set[str] = set()  # children sent SIGTERM since they started
        self.deaths: dict[str, deque[float]] = {name: deque() for name in commands}
        self.failures: list[tuple[str, str]] = []  # (id, how) of children that ended badly
        self.gave_up: WorkerProcessError | None = None

    def run(self) -> None:
        """Start every child, then wait for events until none is left."""
        with _Wakeups() as wakeups:
            try:
                for name in self.commands:
                    self._start(name)
                while self.live:
                    self._reap(stopping=self._stopping(wakeups))
                    if self._stopping(wakeups):  # asked again: reaping may have given up
                        self._stop_children()
                    if self.live:
                        wakeups.wait()
            finally:
                self._stop_leftovers()
        if self.gave_up is not None:
            raise self.gave_up
        if self.failures:
            failed = [name for name, _how in self.failures]
            raise WorkerProcessError("; ".join(how for _name, how in self.failures), failed)

    def _stopping(self, wakeups: _Wakeups) -> bool:
        return wakeups.stopping or self.gave_up is not None

    def _start(self, name: str) -> None:
        try:
            self.live[name] = subprocess.Popen(
                self.commands[name],
                env=self.env,
                stdin=subprocess.DEVNULL,
                # Its own process group: a Ctrl-C at the terminal reaches the supervisor
                # only, which stops the children itself (a child still importing would
                # otherwise die of the KeyboardInterrupt with a traceback).
                process_group=0,
            )
        except OSError as exc:
            raise WorkerProcessError(f"cannot start worker {name}: {exc}", [name]) from exc
        self.signalled.discard(name)

    def _stop_children(self) -> None:
        for name, process in self.live.items():
            if name not in self.signalled:
                process.send_signal(signal.SIGTERM)
                self.signalled.add(name)

    def _reap(self, stopping: bool) -> None:
        for name, process in list(self.live.items()):
            returncode = process.poll()
            if returncode is not None:
                del self.live[name]
                self._ended(name, returncode, stopping)

    def _ended(self, name: str, returncode: int, stopping: bool) -> None:
        # A child sent SIGTERM before it could install its handler dies of it: it had no
        # run yet, so that is a clean stop too.
        clean = returncode == 0 or (name in self.signalled and returncode == -signal.SIGTERM)
        if stopping:
            if not clean:
                self.failures.append((name, f"worker {name} {how_it_ended(returncode)}"))
            return
        if clean:
            self.report(f"worker {name} was stopped; it stays stopped, the others go on")
            return
        self._died(name, returncode)

    def _died(self, name: str, returncode: int) -> None:
        now = self.clock()
        deaths = self.deaths[name]
        deaths.append(now)
        while deaths[0] < now - self.limit.window_seconds:
            deaths.popleft()
        how = how_it_ended(returncode)
        if len(deaths) > self.limit.deaths:
            self.gave_up = WorkerProcessError(
                f"worker {name} died {len(deaths)} times within"
                f" {self.limit.window_seconds:g} s ({how}); gave up and stopped the others",
                [name],
            )
            return
        self.report(f"worker {name} {how}; starting it again")
        self._start(name)

    def _stop_leftovers(self) -> None:
        """After an error of the supervisor itself: stop the children it leaves behind."""
        self._stop_children()
        for process in self.live.values():
            process.wait()


class _Wakeups:
    """What the supervisor sleeps on: a pipe that every signal writes a byte to.

    SIGCHLD (a child ended), SIGTERM and SIGINT each wake it; a signal that arrives
    while it is busy waits in the pipe, so none is missed between a look at the
    children and the next sleep.
    """

    SIGNALS = (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.stopping = False
        self._read_fd, self._write_fd = os.pipe()
        for fd in (self._read_fd, self._write_fd):
            os.set_blocking(fd, False)
        self._previous_fd = -1
        self._previous_handlers: dict[int, _Handler] = {}

    def __enter__(self) -> _Wakeups:
        self._previous_fd = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        for signum in self.SIGNALS:
            self._previous_handlers[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._previous_fd)
        os.close(self._read_fd)
        os.close(self._write_fd)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum != signal.SIGCHLD:
            self.stopping = True

    def wait(self) -> None:
        """Sleep until a signal arrives (or has arrived since the last wait)."""
        select.select([self._read_fd], [], [])
        with contextlib.suppress(BlockingIOError):  # raised once the pipe is empty
            while os.read(self._read_fd, 4096):
                pass
