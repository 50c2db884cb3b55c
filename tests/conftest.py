"""Shared fixtures: a real database per backend (PostgreSQL and SQLite), a Medic
runtime and API client per test, and API keys of any scope.

Each test run creates its own PostgreSQL database (never assumes an empty one)
and drops it at the end; tables are emptied after every test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import time_machine
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from medic.app import create_app
from medic.config import Settings, load_settings
from medic.migrate import upgrade
from medic.ops import keys
from medic.ops.actor import cli_operator
from medic.process import MedicProcess
from tests.support import Clock, RecordingScheduler

# Fixture modules shared by several test packages.
pytest_plugins = [
    "tests.processes",
    "tests.cli",
    "tests.mcp_client",
    "tests.postman",
    "tests.playbook_runs",
    "tests.fakes.slack",
    "tests.fakes.receiver",
    "tests.fakes.pagerduty",
    "tests.fakes.smtp",
]

PG_ADMIN_URL = os.environ.get("MEDIC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("MEDIC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TABLES = (
    "agent_jobs",
    "agents",
    "execution_steps",
    "executions",
    "secrets",
    "playbook_versions",
    "playbooks",
    "delivery_attempts",
    "deliveries",
    "notification_targets",
    "routing_policies",
    "working_hours",
    "notifications",
    "service_state_changes",
    "job_runs",
    "maintenance_windows",
    "periodic_jobs",
    "heartbeat_events",
    "alert_reminders",
    "alerts",
    "audit_log",
    "config_history",
    "dashboard_sessions",
    "ping_keys",
    "api_keys",
    "teams",
    "services",
)
BACKENDS = ("sqlite", "postgres")


def _pg_url(database: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{database}".replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 is slow on purpose (about 0.3 s a hash here) and the tests create and verify
    keys hundreds of times; they use the same algorithm at minimal cost. A hash carries its
    own parameters, so keys made here verify exactly as production keys do."""
    monkeypatch.setattr(keys, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run (and this xdist worker), migrated to head."""
    name = f"medic_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _pg_url(name)
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "medic.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module (or with pytest.mark.parametrize) to change settings."""
    return {}


@pytest.fixture
def make_settings(
    backend: str, request: pytest.FixtureRequest, settings_overrides: dict[str, Any]
) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "medic_rate_limiter_type": "memory",
            "medic_rate_limit_heartbeats": 100_000,
            "medic_rate_limit_management": 100_000,
            "medic_rate_limit_auth_failures": 100_000,
            "medic_timezone": "UTC",
            "medic_base_url": "http://medic.test",
            "redis_url": None,
            "slack_api_token": None,
            "pagerduty_routing_key": None,
        }
        if backend == "postgres":
            values["database_url"] = request.getfixturevalue("postgres_url")
        else:
            values["database_url"] = f"sqlite:///{request.getfixturevalue('sqlite_path')}"
        values.update(settings_overrides)
        values.update(overrides)
        return load_settings(_env_file=None, **values)

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


def empty_tables(medic: MedicProcess) -> None:
    with medic.db.engine.begin() as connection:
        if medic.db.dialect == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                connection.execute(text(f"DELETE FROM {table}"))
            # Like RESTART IDENTITY: AUTOINCREMENT tables count from 1 again.
            connection.execute(text("DELETE FROM sqlite_sequence"))


@pytest.fixture
def medic(settings: Settings) -> Iterator[MedicProcess]:
    runtime = MedicProcess(settings, rate_limit_prefix=f"medic-test-{uuid.uuid4().hex[:8]}")
    empty_tables(runtime)
    yield runtime
    empty_tables(runtime)
    runtime.db.dispose()


@pytest.fixture
def client(medic: MedicProcess) -> Iterator[TestClient]:
    """The real API in-process, lifespan and ingest writer running."""
    with TestClient(create_app(medic=medic)) as test_client:
        yield test_client


@pytest.fixture
def make_key(medic: MedicProcess) -> Callable[..., str]:
    """Create an API key directly through the operations layer; returns the plaintext."""
    counter = iter(range(1_000_000))

    def create(*scopes: str, name: str | None = None, **options: Any) -> str:
        command = keys.CreateKey.of(
            name=name or f"key-{next(counter)}", scopes=list(scopes or ("read",)), **options
        )
        return keys.create_key(medic.context(cli_operator()), command).key

    return create


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def admin_headers(make_key: Callable[..., str]) -> dict[str, str]:
    return auth(make_key("admin", name="test-admin"))


@pytest.fixture
def write_headers(make_key: Callable[..., str]) -> dict[str, str]:
    return auth(make_key("write", name="test-writer"))


@pytest.fixture
def read_headers(make_key: Callable[..., str]) -> dict[str, str]:
    return auth(make_key("read", name="test-reader"))


@pytest.fixture
def register(client: TestClient, admin_headers: dict[str, str]) -> Callable[..., dict[str, Any]]:
    """Register a service through the v2 API; returns its v2 representation."""

    def create(heartbeat_name: str = "nightly-backup", **fields: Any) -> dict[str, Any]:
        body = {"heartbeat_name": heartbeat_name, "service_name": "backups", "alert_interval": 5}
        body.update(fields)
        response = client.post("/v2/services", json=body, headers=admin_headers)
        assert response.status_code == 201, response.text
        return response.json()["results"]

    return create


@pytest.fixture
def clock() -> Iterator[Clock]:
    with time_machine.travel(datetime.now(UTC), tick=True) as traveller:
        yield Clock(traveller)


@pytest.fixture
def scheduler(medic: MedicProcess) -> RecordingScheduler:
    return RecordingScheduler(medic.db, medic.settings)
