"""`medic backup PATH`: a consistent copy of the embedded SQLite database, taken while
Medic runs.

Copying the file with `cp` while `medic up` writes can tear it (a page half old, half
new) and misses whatever still sits in the `-wal` file. SQLite's online backup API
(`sqlite3.Connection.backup`) reads the database through SQLite itself: all pages in
one step, so in one read transaction, hence one committed state. In WAL mode a reader
blocks no writer, so heartbeats keep being committed while the copy is made; the copy
holds everything committed before the backup began, and nothing half-done.

The copy must never appear half-written under its name, nor be readable by others
(it holds API key hashes and sealed secrets): it is made in a temporary file of its
own in the target directory (O_CREAT|O_EXCL, mode 0600), switched to a rollback
journal (so the one file is the whole database, with no `-wal` beside it), checked
with `PRAGMA integrity_check`, fsynced, and only then given its name — by a hard link,
which fails if the name exists (no overwrite without --force), or by rename with
--force — and the directory is fsynced. The secrets key file beside the database
(medic.secrets_key_file), without which the sealed secrets in the copy cannot be
opened, is copied the same way to `PATH.secrets-key`.

PostgreSQL is refused: pg_dump is the tool there, and the refusal says how.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from medic.config import Settings
from medic.secrets_key_file import SUFFIX, key_file_path


class BackupRefused(Exception):
    """The backup cannot or must not be made; the message says why and what to do."""


class BackupFailed(Exception):
    """The copy was made but is not sound; nothing was left under the target's name."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    schema_revision: str | None
    key_file: Path | None  # the secrets key file beside the database, if there is one
    key_copy: Path | None  # where it was copied, if it was


def database_file(settings: Settings) -> Path:
    """The SQLite file Medic is configured with (what `medic up` opens); refuses
    PostgreSQL (saying how to back it up) and a database that is not a file."""
    if not settings.is_sqlite:
        raise BackupRefused(_use_pg_dump(settings))
    database = settings.sqlalchemy_url.split(":///", 1)[-1].split("?", 1)[0]
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupRefused(f"the database ({settings.sqlalchemy_url}) is not a SQLite file")
    return Path(database)


def _use_pg_dump(settings: Settings) -> str:
    """The refusal for PostgreSQL, with the command to run instead (no password in it)."""
    if settings.database_url:
        target = '--dbname="$DATABASE_URL"'
    else:
        target = (
            f"--host={shlex.quote(settings.db_host or '')} --port={settings.db_port} "
            f"--username={shlex.quote(settings.pg_user)} {shlex.quote(settings.db_name)}"
            " with PGPASSWORD set to PG_PASS"
        )
    return (
        "the database is PostgreSQL: back it up with pg_dump, e.g. "
        f"`pg_dump --format=custom --file=medic-$(date +%F).dump {target}`; "
        "restore with pg_restore, then `medic migrate`"
    )


def backup(settings: Settings, path: Path, *, force: bool, with_key: bool) -> BackupResult:
    """Copy the configured SQLite database to `path` (and its secrets key file, when
    there is one and `with_key`, to `path` + `.secrets-key`)."""
    source = database_file(settings)
    key_file = None if settings.medic_secrets_key else key_file_path(settings)
    if key_file is not None and not key_file.is_file():
        key_file = None
    key_copy = path.with_name(path.name + SUFFIX) if key_file is not None and with_key else None
    if not source.is_file():
        raise BackupRefused(f"there is no database at {source} (is this the right DATABASE_URL?)")
    _check_target(source, path, force)
    if key_copy is not None:
        _check_target(source, key_copy, force)

    try:
        with _temporary_beside(path) as temporary:
            revision = _copy_database(source, temporary)
            _durable(temporary)
            _publish(temporary, path, force)
        if key_file is not None and key_copy is not None:
            with _temporary_beside(key_copy) as temporary:
                with temporary.open("wb") as out:
                    out.write(key_file.read_bytes())
                _durable(temporary)
                _publish(temporary, key_copy, force)
        _sync_directory(path.parent)
        return BackupResult(path, path.stat().st_size, revision, key_file, key_copy)
    except (OSError, sqlite3.Error) as exc:  # a full disk, no permission, not a database
        raise BackupFailed(f"{type(exc).__name__}: {exc}") from exc


def _check_target(source: Path, target: Path, force: bool) -> None:
    if not target.parent.is_dir():
        raise BackupRefused(f"{target.parent} is not a directory (create it first)")
    live = {source, source.with_name(source.name + SUFFIX)}
    live |= {source.with_name(source.name + side) for side in ("-wal", "-shm", "-journal")}
    if target.resolve() in {p.resolve() for p in live}:
        raise BackupRefused(f"{target} is the live database's own file; choose another path")
    if target.exists() or target.is_symlink():
        if not force:
            raise BackupRefused(
                f"{target} exists; choose a new path, or pass --force to replace it"
            )
        if target.is_dir():
            raise BackupRefused(f"{target} is a directory")


@contextlib.contextmanager
def _temporary_beside(path: Path) -> Iterator[Path]:
    """A new, empty, owner-only file in `path`'s directory (so the final rename stays on
    one filesystem), removed afterwards whatever happens (once published it is a second
    name of the published file, or gone)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # whatever the umask
    finally:
        os.close(descriptor)
    try:
        yield temporary
    finally:
        for leftover in (temporary, *_sidecars(temporary)):
            leftover.unlink(missing_ok=True)


def _sidecars(database: Path) -> list[Path]:
    return [database.with_name(database.name + side) for side in ("-journal", "-wal", "-shm")]


def _copy_database(source: Path, target: Path) -> str | None:
    """Copy `source` into the empty file `target` with the backup API; returns the copy's
    schema revision. Raises BackupFailed when the copy fails its integrity check."""
    # mode=rw: never create an empty database where the configured one is missing.
    reader = sqlite3.connect(f"file:{quote(str(source.absolute()))}?mode=rw", uri=True, timeout=30)
    try:
        writer = sqlite3.connect(target, timeout=30)
        try:
            # pages=-1: every page in one step, i.e. one read transaction: one
            # committed state, never restarted by a concurrent write.
            reader.backup(writer, pages=-1)
            # The copy inherits WAL mode from the header; a rollback journal makes the
            # one file the whole database (nothing may stay behind in a -wal file).
            writer.execute("PRAGMA journal_mode=DELETE").fetchall()
            problems = [row[0] for row in writer.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupFailed("integrity check of the copy failed: " + "; ".join(problems))
            return _schema_revision(writer)
        finally:
            writer.close()
    finally:
        reader.close()


def _schema_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # never migrated
        return None
    return row[0] if row else None


def _durable(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _publish(temporary: Path, path: Path, force: bool) -> None:
    """Give the finished copy its name, atomically: replace only with `force`."""
    if force:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)  # fails if the name appeared meanwhile
    except FileExistsError:
        raise BackupRefused(
            f"{path} exists; choose a new path, or pass --force to replace it"
        ) from None
    except OSError:  # no hard links on this filesystem
        if path.exists():
            raise BackupRefused(f"{path} exists; choose a new path, or pass --force") from None
        os.rename(temporary, path)


def _sync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # where a directory can be opened and synced
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
