"""Schema migrations: from nothing to head on a brand-new PostgreSQL database and a new
SQLite file, back down to base and up again, with no drift between the migrations and
the models (what `alembic check` reports), and through the `medic migrate` command.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

import medic.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from medic.config import load_settings
from medic.db import make_engine
from medic.migrate import alembic_config, current_tables, downgrade, upgrade

PG_ADMIN_URL = os.environ.get("MEDIC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MODEL_TABLES = set(SQLModel.metadata.tables)
MEDIC_BIN = Path(sys.executable).parent / "medic"


def pg_url(database: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{database}".replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A brand-new, empty PostgreSQL database (its URL), dropped afterwards."""
    name = f"medic_migrations_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database that has never seen Medic."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_database")
    else:
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def assert_no_drift(engine: Engine) -> None:
    """`alembic check`: autogenerate would find nothing to change (it raises otherwise)."""
    command.check(alembic_config(engine))


def test_there_is_exactly_one_head() -> None:
    engine = create_engine("sqlite://")
    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    engine.dispose()
    assert len(heads) == 1


def test_upgrade_from_empty_to_head_creates_every_table(empty_engine: Engine) -> None:
    assert current_tables(empty_engine) == set()
    upgrade(empty_engine)
    assert current_tables(empty_engine) == MODEL_TABLES | {"alembic_version"}
    assert current_revision(empty_engine) == head_revision(empty_engine)
    assert_no_drift(empty_engine)


def test_upgrade_twice_changes_nothing(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO services (uuid, heartbeat_name, name_key, alert_interval, "
                "threshold, team, priority, active, muted, down, date_added, date_modified, "
                "schedule_type, grace_period_seconds, state, consecutive_failures) VALUES "
                "(:uuid, 'kept', 'kept', 5, 1, 'sre', 'p3', :yes, :no, :no, :now, :now, "
                "'interval', 0, 'new', 0)"
            ),
            {"uuid": str(uuid.uuid4()), "yes": True, "no": False, "now": datetime.now(UTC)},
        )
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision(empty_engine)
    with empty_engine.connect() as connection:
        names = connection.execute(text("SELECT heartbeat_name FROM services")).scalars().all()
    assert names == ["kept"]


def test_downgrade_to_base_and_upgrade_again(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    downgrade(empty_engine, "base")
    assert current_tables(empty_engine) <= {"alembic_version"}
    assert current_revision(empty_engine) is None

    upgrade(empty_engine)
    assert current_tables(empty_engine) == MODEL_TABLES | {"alembic_version"}
    assert current_revision(empty_engine) == head_revision(empty_engine)
    assert_no_drift(empty_engine)


def test_migrated_schema_keeps_one_open_alert_per_service(empty_engine: Engine) -> None:
    """The partial unique index comes through the migration on both databases."""
    upgrade(empty_engine)
    indexes = {i["name"]: i for i in inspect(empty_engine).get_indexes("alerts")}
    assert indexes["uq_alerts_one_open_per_service"]["unique"]
    now = datetime.now(UTC)
    with empty_engine.begin() as connection:
        service_id = connection.execute(
            text(
                "INSERT INTO services (uuid, heartbeat_name, name_key, alert_interval, "
                "threshold, team, priority, active, muted, down, date_added, date_modified, "
                "schedule_type, grace_period_seconds, state, consecutive_failures) VALUES "
                "(:uuid, 'job', 'job', 5, 1, 'sre', 'p3', :yes, :no, :no, :now, :now, "
                "'interval', 0, 'new', 0) RETURNING service_id"
            ),
            {"uuid": str(uuid.uuid4()), "yes": True, "no": False, "now": now},
        ).scalar_one()
    insert_alert = text(
        "INSERT INTO alerts (service_id, active, alert_cycle, created_date) "
        "VALUES (:sid, :active, 1, :now)"
    )
    with empty_engine.begin() as connection:
        connection.execute(insert_alert, {"sid": service_id, "active": False, "now": now})
        connection.execute(insert_alert, {"sid": service_id, "active": False, "now": now})
        connection.execute(insert_alert, {"sid": service_id, "active": True, "now": now})
    with pytest.raises(IntegrityError), empty_engine.begin() as connection:
        connection.execute(insert_alert, {"sid": service_id, "active": True, "now": now})


def medic_cli_available() -> bool:
    return importlib.util.find_spec("medic.console") is not None and MEDIC_BIN.exists()


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_medic_migrate_command(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if not medic_cli_available():
        pytest.skip("the `medic` command line (medic/console.py) is not there yet")
    if database == "postgres":
        url = request.getfixturevalue("postgres_database")
    else:
        url = f"sqlite:///{tmp_path / 'cli' / 'medic.db'}"
        (tmp_path / "cli").mkdir()
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DB_", "PG_", "MEDIC_", "DATABASE_", "REDIS_"))
    }
    environment["DATABASE_URL"] = url

    for _ in range(2):  # the second run finds nothing to do
        result = subprocess.run(
            [str(MEDIC_BIN), "migrate"],
            env=environment,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "up to date" in result.stdout

    engine = create_engine(url)
    try:
        assert current_tables(engine) == MODEL_TABLES | {"alembic_version"}
        assert current_revision(engine) == head_revision(engine)
        assert_no_drift(engine)
    finally:
        engine.dispose()


def test_medic_migrate_refuses_a_bad_database_url(tmp_path: Path) -> None:
    if not medic_cli_available():
        pytest.skip("the `medic` command line (medic/console.py) is not there yet")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    environment["DATABASE_URL"] = "mysql://nope"
    result = subprocess.run(
        [str(MEDIC_BIN), "migrate"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def _seed_0007(engine: Engine) -> dict[str, int]:
    """A service with an alert and a heartbeat, a playbook with a version and an
    execution, as a database at revision 0007 holds them."""
    now = datetime.now(UTC)
    flags = {"yes": True, "no": False, "now": now}
    with engine.begin() as connection:
        service_id = connection.execute(
            text(
                "INSERT INTO services (uuid, heartbeat_name, name_key, alert_interval, "
                "threshold, team, priority, active, muted, down, date_added, date_modified, "
                "schedule_type, grace_period_seconds, state, consecutive_failures) VALUES "
                "(:uuid, 'job', 'job', 5, 1, 'sre', 'p3', :yes, :no, :no, :now, :now, "
                "'interval', 0, 'new', 0) RETURNING service_id"
            ),
            {"uuid": str(uuid.uuid4()), **flags},
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO alerts (service_id, active, alert_cycle, created_date) "
                "VALUES (:sid, :yes, 1, :now)"
            ),
            {"sid": service_id, **flags},
        )
        connection.execute(
            text(
                "INSERT INTO heartbeat_events (service_id, time, status) VALUES (:sid, :now, 'UP')"
            ),
            {"sid": service_id, "now": now},
        )
        playbook_id = connection.execute(
            text(
                "INSERT INTO playbooks (name, current_version, enabled, created_at, updated_at) "
                "VALUES ('restart', 1, :yes, :now, :now) RETURNING playbook_id"
            ),
            flags,
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO playbook_versions (playbook_id, version, source_yaml, definition, "
                "content_hash, created_by, created_at) VALUES (:pid, 1, 'x', '{}', 'h', 'me', :now)"
            ),
            {"pid": playbook_id, "now": now},
        )
        connection.execute(
            text(
                "INSERT INTO executions (playbook_id, playbook_name, version, service_id, state, "
                "next_step, requested_by, front_door, created_at, updated_at) VALUES "
                "(:pid, 'restart', 1, :sid, 'completed', 1, 'me', 'api', :now, :now)"
            ),
            {"pid": playbook_id, "sid": service_id, "now": now},
        )
    return {"service_id": service_id, "playbook_id": playbook_id}


ROWS_0007 = (
    "services",
    "alerts",
    "heartbeat_events",
    "playbooks",
    "playbook_versions",
    "executions",
)


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in ROWS_0007
        }


@pytest.mark.parametrize("database", ["sqlite with foreign keys on", "postgres"])
def test_0008_keeps_every_row_and_ids_are_never_reused(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Rebuilding SQLite's tables with AUTOINCREMENT keeps every row, also through an
    engine that enforces foreign keys as Medic's does (a rebuild drops the old table,
    which would cascade into the rows that refer to it); afterwards a deleted id is
    never handed out again; down and up again keeps them too."""
    if database == "postgres":
        engine = create_engine(request.getfixturevalue("postgres_database"))
    else:
        settings = load_settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'm.db'}")
        engine = make_engine(settings)
    try:
        upgrade(engine, "0007")
        ids = _seed_0007(engine)
        upgrade(engine)
        assert _counts(engine) == dict.fromkeys(ROWS_0007, 1)
        with engine.connect() as connection:
            archived = connection.execute(text("SELECT archived_at FROM playbooks")).scalar()
            assert archived is None
            if engine.dialect.name == "sqlite":
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
                assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM alerts"))
            connection.execute(text("DELETE FROM executions"))
            connection.execute(text("DELETE FROM playbook_versions"))
            connection.execute(text("DELETE FROM heartbeat_events"))
            connection.execute(text(f"DELETE FROM services WHERE service_id = {ids['service_id']}"))
        new_id = _seed_0007_service(engine)
        assert new_id > ids["service_id"]

        downgrade(engine, "0007")
        upgrade(engine)
        assert _counts(engine)["services"] == 1 and _counts(engine)["playbooks"] == 1
        assert_no_drift(engine)
    finally:
        engine.dispose()


def _seed_0007_service(engine: Engine) -> int:
    now = datetime.now(UTC)
    with engine.begin() as connection:
        return int(
            connection.execute(
                text(
                    "INSERT INTO services (uuid, heartbeat_name, name_key, alert_interval, "
                    "threshold, team, priority, active, muted, down, date_added, date_modified, "
                    "schedule_type, grace_period_seconds, state, consecutive_failures) VALUES "
                    "(:uuid, 'next', 'next', 5, 1, 'sre', 'p3', :yes, :no, :no, :now, :now, "
                    "'interval', 0, 'new', 0) RETURNING service_id"
                ),
                {"uuid": str(uuid.uuid4()), "yes": True, "no": False, "now": now},
            ).scalar_one()
        )
