"""A 201 means committed, through crashes too: a real `medic api` (two uvicorn workers) under
load from concurrent clients, killed with SIGKILL and started again, or left running
while its PostgreSQL restarts. Afterwards every heartbeat it acknowledged is in the
database (each carries a unique marker); what it could not store it answered 503, or
not at all, and never 2xx. Slow-ish (real processes, a private PostgreSQL server).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine

from medic.config import load_settings
from medic.migrate import upgrade
from medic.ops import keys, services
from medic.ops.actor import cli_operator
from medic.ops.service_commands import RegisterService
from medic.process import MedicProcess
from tests.ingest.heartbeat_load import Api, HeartbeatLoad, stored_markers
from tests.private_postgres import PrivatePostgres, private_postgres

pytestmark = pytest.mark.slow
SERVICES = [f"durable-{n}" for n in range(20)]


def prepare(medic: MedicProcess) -> str:
    """The services the load spreads over, and an ingest key without a practical rate
    limit; returns the key."""
    context = medic.context(cli_operator())
    for name in SERVICES:
        services.register(context, RegisterService.of(heartbeat_name=name, alert_interval=5))
    command = keys.CreateKey.of(name="load", scopes=["ingest"], heartbeat_rate_limit=10**9)
    return keys.create_key(context, command).key


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Callable[[str], Api]]:
    """`api(database_url)`: a not yet started `medic api`; stopped at teardown."""
    started: list[Api] = []

    def make(database_url: str) -> Api:
        started.append(Api(database_url, tmp_path / "api.log"))
        return started[-1]

    yield make
    for each in started:
        each.stop()


def assert_every_acknowledged_heartbeat_stored(load: HeartbeatLoad, libpq_url: str) -> None:
    stored = stored_markers(libpq_url)
    lost = load.acknowledged - set(stored)
    assert not lost, f"{len(lost)} acknowledged heartbeats are not stored, e.g. {sorted(lost)[:5]}"
    assert set(stored) <= load.sent, "the database holds heartbeats nobody sent"
    # 503 (not stored, retry) or no answer at all; never a 500 or a 2xx that lies.
    assert set(load.failures) <= {503, "ConnectError", "RemoteProtocolError", "ReadError"}, (
        load.failures
    )


@pytest.mark.parametrize("backend", ["postgres"])
def test_an_api_killed_mid_load_lost_no_acknowledged_heartbeat(
    medic: MedicProcess, api: Callable[[str], Api]
) -> None:
    key = prepare(medic)
    server = api(medic.settings.libpq_url)
    server.start()
    with HeartbeatLoad(server, key, SERVICES) as load:
        load.wait_for_more_acks(200, "before the kill")
        server.kill()
        server.start()
        load.wait_for_more_acks(200, "after the restart")

    assert_every_acknowledged_heartbeat_stored(load, medic.settings.libpq_url)
    stored = stored_markers(medic.settings.libpq_url)
    assert all(stored[marker] == 1 for marker in load.acknowledged), "stored twice"
    assert load.failures, "the kill happened under load: some requests went unanswered"


def test_the_api_rides_out_a_postgres_restart_without_acknowledging_a_lost_heartbeat(
    tmp_path: Path, api: Callable[[str], Api]
) -> None:
    with private_postgres() as postgres:
        postgres.create_database("medic")
        upgrade(create_engine(postgres.url("medic", driver="+psycopg")))
        key, unseen_key = _prepare_private(postgres)
        server = api(postgres.url("medic"))
        server.start()
        with HeartbeatLoad(server, key, SERVICES) as load:
            load.wait_for_more_acks(200, "before the database restart")
            postgres.restart("fast")
            # The same API process, not restarted, stores and acknowledges again.
            load.wait_for_more_acks(200, "after the database restart")

            # While the database is down, even a request that needs it to check its key
            # (one the API has not seen yet) is told to retry: 503, not 500.
            postgres.pg_ctl("-w", "-t", "60", "-m", "fast", "stop")
            # From an address of its own: the load's own key checks are not counted with it.
            transport = httpx.HTTPTransport(local_address="127.0.0.2")
            with httpx.Client(transport=transport, timeout=30) as client:
                answer = client.post(
                    f"{server.base_url}/v2/heartbeats",
                    json={"heartbeat_name": SERVICES[0], "message": "while-down"},
                    headers={"Authorization": f"Bearer {unseen_key}"},
                )
            assert answer.status_code == 503, answer.text
            postgres.start()
            load.wait_for_more_acks(200, "after the database came back")
        assert server.running()

        # A heartbeat whose batch hit the dropped connection was retried, not lost: every
        # acknowledged one is stored. (A commit whose answer the restart swallowed may be
        # written twice by that retry, so this checks "at least once".)
        assert_every_acknowledged_heartbeat_stored(load, postgres.url("medic"))


def _prepare_private(postgres: PrivatePostgres) -> tuple[str, str]:
    """The load's key and a second one that no request uses before the outage."""
    settings = load_settings(
        _env_file=None,
        database_url=postgres.url("medic", driver="+psycopg"),
        medic_rate_limiter_type="memory",
        redis_url=None,
    )
    medic = MedicProcess(settings)
    try:
        command = keys.CreateKey.of(name="unseen", scopes=["ingest"])
        return prepare(medic), keys.create_key(medic.context(cli_operator()), command).key
    finally:
        medic.db.dispose()
