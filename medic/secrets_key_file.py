"""The embedded default's secrets key: a file beside the SQLite database.

`medic up` must just work, playbook secrets included, with nothing to set. So when
MEDIC_SECRETS_KEY is not set and the database is a SQLite file, `medic up` keeps the
key in `<database>.secrets-key` (e.g. `medic.db.secrets-key`): created on the first
start, read on every later one. MEDIC_SECRETS_KEY, when set, always wins and no file is
made. Production (`medic api`, PostgreSQL) never makes one: there the key is the
operator's to manage, and secrets stay off (409, saying what to set) until it is set.

How the file is made, so that it is never half-written, never readable by others, and
two starts at once agree on one key: 32 random bytes, base64, are written and fsynced
to a temporary file of this process's own (O_CREAT|O_EXCL, mode 0600), then hard-linked
to the final name, which fails if that name exists. The name therefore appears
complete or not at all, and the start that loses the race reads the winner's key.
A file that group or others may read is refused, as ssh refuses such a private key.

Like every other setting it is read once, into the one Settings object
(`Settings.medic_secrets_key`): nothing goes into the environment, so the hardening
model (medic.hardening: secrets live in Settings, not in `os.environ`) holds.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
import stat
import time
from pathlib import Path

from medic.config import ConfigError, Settings

SUFFIX = ".secrets-key"
KEY_BYTES = 32


def key_file_path(settings: Settings) -> Path | None:
    """Where the embedded default keeps its key: beside its SQLite file; None when the
    database is not a SQLite file (PostgreSQL, or SQLite in memory)."""
    if not settings.is_sqlite:
        return None
    database = settings.sqlalchemy_url.split(":///", 1)[-1].split("?", 1)[0]
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    return path.with_name(path.name + SUFFIX)


def use_embedded_key(settings: Settings) -> Path | None:
    """Unless MEDIC_SECRETS_KEY is set, put the key from the file beside the SQLite
    database (made now if there is none) into `settings`; returns the file used.
    Raises ConfigError when the file is unsafe or not a key."""
    if settings.medic_secrets_key:
        return None
    path = key_file_path(settings)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _create(path)
    settings.medic_secrets_key = _read(path)
    return path


def _create(path: Path) -> None:
    """Write a new key under `path` unless one is there already (see the module doc)."""
    key = base64.b64encode(secrets.token_bytes(KEY_BYTES)) + b"\n"
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    _write_new(temporary, key)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another start won: its key is the key
    except OSError:  # no hard links on this filesystem: create the name itself, exclusively
        with contextlib.suppress(FileExistsError):
            _write_new(path, key)
    finally:
        temporary.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # make the new name durable, where a directory can be
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _write_new(path: Path, data: bytes) -> None:
    """`data` in a file that did not exist (FileExistsError otherwise), owner-only
    whatever the umask, on disk before returning."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read(path: Path) -> str:
    """The key in `path`, checked: private to its owner, and 32 bytes of base64."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"secrets key file {path} may be read by others (mode {mode:04o}): "
            f"`chmod 600 {path}`, or set MEDIC_SECRETS_KEY"
        )
    text = path.read_text(encoding="ascii", errors="replace").strip()
    for _ in range(50):  # only without hard links: another start may be mid-write
        if text:
            break
        time.sleep(0.02)
        text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise ConfigError(
            f"secrets key file {path} does not hold a key ({KEY_BYTES} bytes, base64); "
            "restore it from a backup, or set MEDIC_SECRETS_KEY"
        )
    return text
