"""A throwaway PostgreSQL server on 127.0.0.1, for tests and benchmarks.

    with throwaway_postgres() as server:
        url = server.create_database("t1")   # postgresql+psycopg://postgres@127.0.0.1:PORT/t1

It runs the server binaries of an installed PostgreSQL (Debian's
`/usr/lib/postgresql/<version>/bin`, or `pg_ctl` on PATH) from a temporary
data directory, trusts loopback connections only, and removes everything when
the block ends. PostgreSQL refuses to run as root; as root it runs as the
`postgres` user that Debian's package creates.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from taskline.testing.ports import free_port


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries, or they cannot be run here."""


def find_server_bin() -> Path | None:
    """The directory holding `initdb`, `pg_ctl` and `postgres`, newest version first."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for directory in versions:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).resolve().parent if pg_ctl else None


@dataclass
class PostgresServer:
    """A running throwaway server."""

    port: int
    """TCP port on 127.0.0.1."""
    host: str = "127.0.0.1"
    """Always loopback."""
    control: list[str] | None = None
    """`pg_ctl -D <data>` as the server's user, for `stop` and `start`; None for a server
    this process did not start."""
    options: str = ""
    """The server options `start` passes again."""
    log: Path | None = None
    """The server's log file."""

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of `database` on this server."""
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{database}"

    def create_database(self, name: str, template: str = "template0") -> str:
        """Create a database as a copy of `template` (default: empty) and return its URL.

        Copying a migrated template is much faster than migrating every new database.
        """
        with psycopg.connect(
            host=self.host, port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'.encode())
        return self.url(name)

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server as a crash or an operator would (`immediate`, `fast`, `smart`)."""
        if self.control is None:
            raise PostgresUnavailable("this server was not started here: cannot stop it")
        _run([*self.control, "-m", mode, "-w", "-t", "60", "stop"])

    def start(self) -> None:
        """Start the stopped server again, on the same port and data."""
        if self.control is None:
            raise PostgresUnavailable("this server was not started here: cannot start it")
        _run([*self.control, "-o", self.options, "-l", str(self.log), "-w", "-t", "60", "start"])

    def running(self) -> bool:
        """Whether the server is up (`pg_ctl status`)."""
        if self.control is None:
            return True
        return subprocess.run([*self.control, "status"], capture_output=True).returncode == 0


def _as_server_user(command: Sequence[str]) -> list[str]:
    if os.geteuid() != 0:
        return list(command)
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            "running as root and there is no 'postgres' user to run the server as"
        ) from None
    return ["runuser", "-u", "postgres", "--", *command]


def _run(command: Sequence[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PostgresUnavailable(
            f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}"
        )


@contextmanager
def throwaway_postgres(*, durable: bool = False) -> Iterator[PostgresServer]:
    """Start a server on a free loopback port; stop it and delete its data at the end.

    Unless `durable`, the server skips fsync: tests need no crash safety, and it
    keeps them fast. Benchmarks pass `durable=True` to measure what users get.
    """
    bindir = find_server_bin()
    if bindir is None:
        raise PostgresUnavailable(
            "no PostgreSQL server binaries found; install Debian's `postgresql` package"
        )
    root = Path(tempfile.mkdtemp(prefix="taskline-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres")
    try:
        _run(
            _as_server_user(
                [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                 "--no-sync", "-E", "UTF8", "--locale=C"]
            )
        )  # fmt: skip
        # A port is free only when it is looked at: taken just before the start, not
        # before initdb's second or two, it leaves the least time to another process (a
        # server of another test worker, say) to take it first.
        port = free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories=''"
            " -c max_connections=200"
        )
        if not durable:
            options += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        server = PostgresServer(
            port=port,
            control=_as_server_user([str(bindir / "pg_ctl"), "-D", str(data)]),
            options=options,
            log=root / "server.log",
        )
        server.start()
        try:
            yield server
        finally:
            if server.running():
                server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
