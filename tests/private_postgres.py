"""A PostgreSQL server of one test's own, for tests that stop or restart the database.

The shared server (127.0.0.1:5432) serves every test running in parallel, so a test
that restarts PostgreSQL under load starts its own: `initdb` into a temporary
directory, `pg_ctl` on a free port, the socket in that directory. PostgreSQL refuses
to run as root, so as root the cluster belongs to, and runs as, the `postgres` user.
fsync is off: restarts and crashes of the server are what tests exercise, not of the
machine, and the WAL in the page cache survives those.

    with private_postgres() as server:
        url = server.url("medic")  # created by `server.create_database("medic")`
        server.restart()
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.processes import free_port

OS_USER = "postgres"


def _binaries() -> Path | None:
    """The newest installed server's bin directory (Debian layout), or PATH's."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class PrivatePostgres:
    root: Path
    port: int
    bin: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres", driver: str = "") -> str:
        """`driver="+psycopg"` for SQLAlchemy; over TCP, as Medic connects in production."""
        return f"postgresql{driver}://{OS_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')

    def pg_ctl(self, *args: str) -> None:
        _run_as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), *args
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.pg_ctl("-w", "-t", "60", "-o", options, "start")

    def restart(self, mode: str = "fast") -> None:
        """Stop (`fast`: connections are ended, transactions rolled back; `immediate`: the
        server dies and recovers from WAL) and start again; returns once it accepts."""
        self.pg_ctl("-w", "-t", "60", "-m", mode, "restart")

    def stop(self) -> None:
        self.pg_ctl("-w", "-t", "60", "-m", "immediate", "stop")

    def log(self) -> str:
        path = self.root / "log"
        return path.read_text(errors="replace") if path.exists() else ""


def _run_as_postgres(*command: str) -> None:
    if os.geteuid() == 0:
        command = ("runuser", "-u", OS_USER, "--", *command)
    subprocess.run(command, check=True, capture_output=True, timeout=90)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running private server, stopped and deleted afterwards; skips the test when no
    PostgreSQL server binaries are installed."""
    bin_dir = _binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    # Not under pytest's tmp_path: the server's user must be able to reach the directory.
    root = Path(tempfile.mkdtemp(prefix="medic-private-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam(OS_USER)
        os.chown(root, user.pw_uid, user.pw_gid)
    server = PrivatePostgres(root=root, port=free_port(), bin=bin_dir)
    try:
        _run_as_postgres(
            str(bin_dir / "initdb"), "-D", str(server.data), "-A", "trust", "-U", OS_USER, "-N"
        )
        server.start()
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
