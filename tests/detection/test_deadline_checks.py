"""The scheduler's deadline check trails the deadline: heartbeats move `next_due_at`,
the scheduler moves `deadline_check_at` up to it when it finds the service alive.

So a heartbeat's update of its service changes no indexed column (a HOT update on
PostgreSQL), and still a service that stops beating is claimed at its deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.core.statuses import Status
from medic.ingest import postgres_batch
from medic.ingest.batch import BeatRequest, ServiceRef
from medic.ingest.known_services import KnownServices
from medic.models import Service
from medic.process import MedicProcess
from tests.support import Clock, RecordingScheduler

BEAT = {"heartbeat_name": "nightly-backup", "status": "UP"}


def _deadlines(medic: MedicProcess) -> tuple[datetime | None, datetime | None]:
    with medic.db.session() as session:
        service = session.exec(select(Service)).one()
        return service.next_due_at, service.deadline_check_at


def test_registering_checks_the_first_deadline(
    medic: MedicProcess, register: Callable[..., dict[str, Any]]
) -> None:
    register("nightly-backup", alert_interval=1)
    due, check = _deadlines(medic)
    assert due is not None and check == due


def test_a_heartbeat_moves_the_deadline_but_not_its_check(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    register: Callable[..., dict[str, Any]],
    write_headers: dict[str, str],
) -> None:
    register("nightly-backup", alert_interval=1)
    _, registered_check = _deadlines(medic)
    clock.advance(seconds=30)
    assert client.post("/v2/heartbeats", json=BEAT, headers=write_headers).status_code == 201
    due, check = _deadlines(medic)
    assert check == registered_check
    assert due is not None and check is not None and due > check


def test_a_service_that_beat_since_is_not_due_at_its_old_check(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Callable[..., dict[str, Any]],
    write_headers: dict[str, str],
) -> None:
    register("nightly-backup", alert_interval=1)
    clock.advance(seconds=50)
    assert client.post("/v2/heartbeats", json=BEAT, headers=write_headers).status_code == 201
    clock.advance(seconds=20)  # past the check set at registration, before the deadline

    result = scheduler.run_pass()

    assert (result.opened, result.evaluated) == (0, 0)
    due, check = _deadlines(medic)
    assert check == due
    wake = scheduler.next_wake()
    assert wake is not None and wake > datetime.now(UTC)  # it sleeps, not spins


def test_a_service_that_stops_beating_is_claimed_at_its_deadline(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Callable[..., dict[str, Any]],
    write_headers: dict[str, str],
) -> None:
    register("nightly-backup", alert_interval=1)
    for _ in range(3):
        clock.advance(seconds=40)
        assert client.post("/v2/heartbeats", json=BEAT, headers=write_headers).status_code == 201
        scheduler.run_pass()
    due, _ = _deadlines(medic)
    assert due is not None

    clock.advance(seconds=59)
    assert scheduler.run_pass().opened == 0
    clock.advance(seconds=2)
    assert scheduler.run_pass().opened == 1


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize("remembering", [False, True], ids=["looked-up", "known"])
def test_heartbeats_update_their_service_in_place_on_postgresql(
    medic: MedicProcess, register: Callable[..., dict[str, Any]], remembering: bool
) -> None:
    """No index entry is written for a plain heartbeat's update of its service: past
    the first beat (new -> up changes the claim index's condition), every update the
    ingest writer makes is HOT, as PostgreSQL counts them, whether the batch looked the
    service up or the writer knew it (medic.ingest.known_services)."""
    known = KnownServices() if remembering else None
    service_id = register("nightly-backup", alert_interval=1)["service_id"]
    url = medic.settings.database_url.replace("postgresql+psycopg://", "postgresql://")

    async def ten_batches() -> tuple[int, int]:
        connection = await psycopg.AsyncConnection.connect(url, autocommit=True)
        async with connection:
            beat = BeatRequest(ServiceRef(service_id=service_id), Status.UP, datetime.now(UTC))
            await postgres_batch.write_batch(connection, [beat], "UTC", known)  # new -> up
            before = await _service_updates(connection)
            for _ in range(10):
                beat = BeatRequest(ServiceRef(service_id=service_id), Status.UP, datetime.now(UTC))
                await postgres_batch.write_batch(connection, [beat], "UTC", known)
            after = await _service_updates(connection)
        return after[0] - before[0], after[1] - before[1]

    assert asyncio.run(ten_batches()) == (10, 10)


async def _service_updates(connection: psycopg.AsyncConnection) -> tuple[int, int]:
    """Updates of the services table so far, and how many were HOT, with this
    backend's own counts flushed first."""
    await connection.execute("SELECT pg_stat_force_next_flush()")
    await connection.execute("SELECT 1")
    cursor = await connection.execute(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'services'"
    )
    row = await cursor.fetchone()
    assert row is not None
    return row
