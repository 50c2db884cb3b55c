"""`medic backup PATH` copies the embedded SQLite database consistently while Medic
runs: heartbeats keep being committed during the copy, every one acknowledged before it
began is in it, the copy passes SQLite's integrity check, is readable by its owner
only, carries the secrets key file beside it, and a second `medic up` started on it
serves the same services, keys and secrets. It refuses PostgreSQL (pointing at
pg_dump), an existing PATH unless --force, and the live database's own files."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from medic.migrate import migrations_dir, upgrade
from tests.fakes.receiver import Receiver
from tests.processes import MEDIC, MedicUp, clean_env, wait_for
from tests.secrets.test_medic_up_secrets_key import (
    PLAYBOOK,
    TOKEN,
    run_playbook_with_the_secret,
)


def medic_backup(
    database_url: str, *args: str, umask: int | None = None
) -> subprocess.CompletedProcess[str]:
    """`medic backup ARGS…` as an operator runs it, on the database at `database_url`."""
    return subprocess.run(
        [str(MEDIC), "backup", *args],
        env=clean_env(DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=None if umask is None else (lambda: os.umask(umask)),
    )


def medic_up_on(database: Path, port: int) -> MedicUp:
    """`medic up` on the SQLite file named by DATABASE_URL (its key file beside it)."""
    return MedicUp(
        database.parent,
        port,
        DATABASE_URL=f"sqlite:///{database}",
        MEDIC_RATE_LIMIT_HEARTBEATS="1000000",
    )


class Heartbeats(threading.Thread):
    """Posts numbered heartbeats until stopped; `acknowledged` holds the messages of
    those answered 201 (committed), in order."""

    def __init__(self, up: MedicUp, name: str) -> None:
        super().__init__(daemon=True)
        self.up, self.name = up, name
        self.acknowledged: list[str] = []
        self.errors: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.up.url, headers=self.up.admin, timeout=30) as client:
            number = 0
            while not self.stopping.is_set():
                number += 1
                message = f"beat-{number}"
                body = {"heartbeat_name": self.name, "message": message}
                answer = client.post("/v2/heartbeats", json=body)
                if answer.status_code == 201:
                    self.acknowledged.append(message)
                else:
                    self.errors.append(f"{answer.status_code} {answer.text}")

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=60)


@pytest.fixture
def ups() -> Iterator[list[MedicUp]]:
    started: list[MedicUp] = []
    yield started
    for up in started:
        up.stop()


def messages_in(database: Path) -> set[str]:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        return {row[0] for row in connection.execute("SELECT message FROM heartbeat_events")}


def integrity(database: Path) -> list[tuple[str]]:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        return connection.execute("PRAGMA integrity_check").fetchall()


def test_a_backup_taken_under_load_holds_every_acknowledged_heartbeat_and_serves_again(
    tmp_path: Path,
    free_tcp_port_factory: Any,
    webhook_receiver: Receiver,
    ups: list[MedicUp],
) -> None:
    live_dir, backup_dir = tmp_path / "live", tmp_path / "backups"
    live_dir.mkdir()
    backup_dir.mkdir()
    live = medic_up_on(live_dir / "medic.db", free_tcp_port_factory())
    ups.append(live)
    live.start()
    service = {"heartbeat_name": "backed-up", "service_name": "backups", "alert_interval": 5}
    assert live.call("POST", "/v2/services", json=service).status_code == 201
    put = live.call("PUT", "/v2/secrets/RESTART_TOKEN", json={"value": TOKEN})
    assert put.status_code == 201, put.text
    playbook = PLAYBOOK.format(url=webhook_receiver.url)
    applied = live.call(
        "POST", "/v2/playbooks", content=playbook, headers={"Content-Type": "application/yaml"}
    )
    assert applied.status_code in (200, 201), applied.text

    beats = Heartbeats(live, "backed-up")
    beats.start()
    try:
        wait_for("heartbeats flowing", lambda: len(beats.acknowledged) >= 50, 60)
        before = list(beats.acknowledged)
        copy = backup_dir / "medic-copy.db"
        done = medic_backup(f"sqlite:///{live_dir / 'medic.db'}", str(copy))
        seen_during = len(beats.acknowledged)
        wait_for("heartbeats still flowing", lambda: len(beats.acknowledged) > seen_during, 60)
    finally:
        beats.stop()
    assert not beats.errors, beats.errors[:3]
    assert done.returncode == 0, done.stderr

    head = ScriptDirectory(str(migrations_dir())).get_current_head()
    assert f"integrity ok, schema revision {head}" in done.stdout
    assert f"{copy.stat().st_size:,} bytes" in done.stdout
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    key_copy = backup_dir / "medic-copy.db.secrets-key"
    assert stat.S_IMODE(key_copy.stat().st_mode) == 0o600
    assert key_copy.read_bytes() == (live_dir / "medic.db.secrets-key").read_bytes()
    assert sorted(p.name for p in backup_dir.iterdir()) == [copy.name, key_copy.name], (
        "one self-contained file and its key: no -wal, no temporary left behind"
    )
    assert integrity(copy) == [("ok",)]
    in_copy = messages_in(copy)
    assert set(before) <= in_copy, "a heartbeat acknowledged before the backup is missing"
    assert in_copy <= set(beats.acknowledged) | {None}
    live.stop()

    restored = medic_up_on(copy, free_tcp_port_factory())
    restored.admin = live.admin  # key hashes travel in the copy: the same key works
    ups.append(restored)
    restored.start()
    assert "A first admin API key was created" not in (backup_dir / "up-1.log").read_text()
    listed = restored.call("GET", "/v2/services").json()["results"]["items"]
    names = [item["heartbeat_name"] for item in listed]
    assert names == ["backed-up"]
    assert run_playbook_with_the_secret(restored, webhook_receiver) == f"Bearer {TOKEN}", (
        "the copied key file opens the secrets sealed in the copied database"
    )


@pytest.fixture
def live_database(tmp_path: Path) -> Path:
    """A migrated SQLite database with a secrets key file beside it, as `medic up` leaves."""
    database = tmp_path / "live" / "medic.db"
    database.parent.mkdir()
    engine = create_engine(f"sqlite:///{database}")
    upgrade(engine)
    engine.dispose()
    key_file = database.with_name("medic.db.secrets-key")
    key_file.write_text("A" * 43 + "=\n")
    key_file.chmod(0o600)
    return database


def test_postgresql_is_refused_with_the_pg_dump_command_and_no_password(tmp_path: Path) -> None:
    url = "postgresql://medic:hunter2-secret@db.example:5432/medic"
    done = medic_backup(url, str(tmp_path / "medic.db"))
    assert done.returncode == 2
    assert "pg_dump --format=custom" in done.stderr and "pg_restore" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout
    assert not list(tmp_path.iterdir())


def test_an_existing_path_is_kept_unless_forced(live_database: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{live_database}"
    target = tmp_path / "medic-2026-01-01.db"
    target.write_text("last night's backup")

    refused = medic_backup(url, str(target))
    assert refused.returncode == 2
    assert "exists" in refused.stderr and "--force" in refused.stderr
    assert target.read_text() == "last night's backup"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live", target.name], "no leftovers"

    forced = medic_backup(url, str(target), "--force")
    assert forced.returncode == 0, forced.stderr
    assert integrity(target) == [("ok",)]


def test_an_existing_key_copy_is_kept_unless_forced(live_database: Path, tmp_path: Path) -> None:
    target = tmp_path / "medic.db"
    (tmp_path / "medic.db.secrets-key").write_text("another deployment's key")

    refused = medic_backup(f"sqlite:///{live_database}", str(target))
    assert refused.returncode == 2 and "medic.db.secrets-key exists" in refused.stderr
    assert not target.exists()
    assert (tmp_path / "medic.db.secrets-key").read_text() == "another deployment's key"


def test_the_live_database_is_never_a_target_even_forced(live_database: Path) -> None:
    original = live_database.read_bytes()
    for target in (live_database, live_database.with_name("medic.db-wal")):
        done = medic_backup(f"sqlite:///{live_database}", str(target), "--force")
        assert done.returncode == 2 and "live database" in done.stderr
    assert live_database.read_bytes() == original


def test_a_missing_database_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "medic.db"
    done = medic_backup(f"sqlite:///{missing}", str(tmp_path / "copy.db"))
    assert done.returncode == 2 and "no database" in done.stderr
    assert not missing.parent.exists() and not (tmp_path / "copy.db").exists()


def test_the_copy_is_private_whatever_the_umask(live_database: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    done = medic_backup(f"sqlite:///{live_database}", str(target), umask=0)
    assert done.returncode == 0, done.stderr
    for copy in (target, tmp_path / "copy.db.secrets-key"):
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600, copy


def test_without_key_leaves_the_key_out_and_says_so_loudly(
    live_database: Path, tmp_path: Path
) -> None:
    target = tmp_path / "copy.db"
    done = medic_backup(f"sqlite:///{live_database}", str(target), "--without-key")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "copy.db.secrets-key").exists()
    assert "NOT copied" in done.stderr and "medic.db.secrets-key" in done.stderr
