"""A writer plans a batch of plain beats from the services it has looked up before and
writes it in one statement, which the database refuses as a whole when any of those
services changed since: a heartbeat is never judged by a stale name, schedule, state or
pause, whoever changed the service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from medic.core.statuses import Status
from medic.ingest import postgres_batch
from medic.ingest.batch import SERVICE_COLUMNS, BeatRecorded, BeatRequest, ServiceRef
from medic.ingest.known_services import KnownServices
from medic.ops.errors import InvalidInput, NotFound
from medic.process import MedicProcess
from tests.support import REFUSE_SERVICE_UPDATES, STOP_REFUSING_SERVICE_UPDATES

POSTGRES = pytest.mark.parametrize("backend", ["postgres"], indirect=True)

# Per column a batch plans with, a change a person (or the scheduler) could make.
CHANGES = {
    "uuid": "'00000000-0000-4000-8000-000000000000'",
    "name_key": "'renamed'",
    "heartbeat_name": "'Renamed'",
    "active": "false",
    "alert_interval": "alert_interval + 1",
    "threshold": "2",
    "schedule_type": "'cron'",
    "cron_expression": "'*/5 * * * *'",
    "timezone": "'Europe/Paris'",
    "grace_period_seconds": "grace_period_seconds + 60",
    "max_duration_seconds": "600",
    "date_added": "date_added - interval '1 day'",
    "state": "'down'",
    "consecutive_failures": "2",
    "min_duration_seconds": "5",
    "max_beats": "3",
    "start_grace_seconds": "30",
}


def test_every_column_a_batch_plans_with_has_a_change_here() -> None:
    assert set(CHANGES) == set(SERVICE_COLUMNS) - {"service_id"}


def _beat(name: str, status: Status = Status.UP) -> BeatRequest:
    return BeatRequest(ServiceRef(name_key=name), status, datetime.now(UTC), None, "known")


async def _sql(url: str, statement: str) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        cursor = await connection.execute(statement)
        return await cursor.fetchall() if cursor.description else []


async def _stored(url: str) -> int:
    [(count,)] = await _sql(url, "SELECT count(*) FROM heartbeat_events")
    return count


def _run(work: Any) -> Any:
    return asyncio.run(work)


@pytest.fixture
def url(medic: MedicProcess, register: Callable[..., dict[str, Any]]) -> str:
    """The database, with services `alpha` and `beta` (5-minute interval)."""
    register("alpha", alert_interval=5)
    register("beta", alert_interval=5)
    return medic.settings.libpq_url


async def _known_after_two_batches(url: str) -> KnownServices:
    """Known as of their first beats: the second batch finds them changed (new -> up) and
    writes the long way, which looks them up again."""
    known = KnownServices()
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        for _ in range(2):
            beats = [_beat("alpha"), _beat("beta")]
            await postgres_batch.write_batch(connection, beats, "UTC", known)
    return known


@POSTGRES
def test_a_batch_of_known_services_is_written_in_one_statement(url: str) -> None:
    async def scenario() -> list[Any] | None:
        known = await _known_after_two_batches(url)
        assert len(known) == 2
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
            written = await postgres_batch._write_known(
                connection, [_beat("alpha"), _beat("beta"), _beat("alpha")], "UTC", known
            )
        return None if written is None else written[0]

    outcomes = _run(scenario())

    assert outcomes is not None
    assert [type(o) for o in outcomes] == [BeatRecorded] * 3
    ids = [o.heartbeat_id for o in outcomes]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert _run(_stored(url)) == 7
    [(due, last)] = _run(
        _sql(url, "SELECT next_due_at, last_heartbeat_at FROM services WHERE name_key = 'alpha'")
    )
    assert last == outcomes[2].time
    assert due == outcomes[2].time + timedelta(minutes=5)


@POSTGRES
@pytest.mark.parametrize("column", sorted(CHANGES))
def test_a_service_changed_since_it_was_known_is_not_planned_from_memory(
    url: str, column: str
) -> None:
    """Whatever column changed, the one-statement batch writes nothing and says so; the
    writer then forgets the service and writes the batch the long way."""

    async def scenario() -> Any:
        known = await _known_after_two_batches(url)
        await _sql(
            url, f"UPDATE services SET {column} = {CHANGES[column]} WHERE name_key = 'alpha'"
        )
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
            written = await postgres_batch._write_known(
                connection, [_beat("alpha"), _beat("beta")], "UTC", known
            )
        return written, len(known)

    written, still_known = _run(scenario())

    assert written is None
    assert _run(_stored(url)) == 4
    assert still_known == 0


def _beats_after(url: str, change: str, names: list[str]) -> list[Any]:
    """The outcomes of a batch naming `names`, written by a writer that knew the services
    before `change` (SQL behind its back)."""

    async def scenario() -> list[Any]:
        known = await _known_after_two_batches(url)
        await _sql(url, change)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
            beats = [_beat(name) for name in names]
            outcomes, _ = await postgres_batch.write_batch(connection, beats, "UTC", known)
        return outcomes

    return _run(scenario())


@POSTGRES
def test_a_service_renamed_since_it_was_known_is_not_found_by_its_old_name(url: str) -> None:
    rename = (
        "UPDATE services SET name_key = 'gamma', heartbeat_name = 'gamma' WHERE name_key = 'alpha'"
    )

    outcomes = _beats_after(url, rename, ["alpha", "beta", "gamma"])

    assert isinstance(outcomes[0], NotFound)
    assert isinstance(outcomes[1], BeatRecorded) and isinstance(outcomes[2], BeatRecorded)
    assert outcomes[2].heartbeat_name == "gamma"
    assert _run(_stored(url)) == 6


# As medic.ops.services.delete_service deletes one: its heartbeats, then its row.
DELETE_ALPHA = """
DELETE FROM heartbeat_events WHERE service_id = (SELECT service_id FROM services
                                                 WHERE name_key = 'alpha');
DELETE FROM services WHERE name_key = 'alpha'
"""
ORPHANS = (
    "SELECT count(*) FROM heartbeat_events LEFT JOIN services s USING (service_id)"
    " WHERE s.service_id IS NULL"
)


@POSTGRES
def test_a_service_deleted_since_it_was_known_gets_no_heartbeat(url: str) -> None:
    outcomes = _beats_after(url, DELETE_ALPHA, ["alpha", "beta"])

    assert isinstance(outcomes[0], NotFound) and isinstance(outcomes[1], BeatRecorded)
    assert _run(_sql(url, ORPHANS)) == [(0,)]


@POSTGRES
def test_a_batch_that_waited_on_a_service_being_deleted_stores_nothing_for_it(url: str) -> None:
    """Heartbeats have no foreign key: the service's row lock keeps them consistent. The
    deletion holds the row (FOR UPDATE, as delete_service takes it) while the batch
    waits; once it commits, the batch finds the service gone."""

    async def scenario() -> list[Any]:
        known = await _known_after_two_batches(url)
        async with await psycopg.AsyncConnection.connect(url) as deleting:
            await deleting.execute("SELECT * FROM services WHERE name_key = 'alpha' FOR UPDATE")
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as writer:
                beats = [_beat("alpha"), _beat("beta")]
                batch = asyncio.create_task(postgres_batch.write_batch(writer, beats, "UTC", known))
                await asyncio.sleep(0.3)
                assert not batch.done(), "the batch waits for the service's row"
                await deleting.execute(DELETE_ALPHA)
                await deleting.commit()
                outcomes, _ = await batch
        return outcomes

    outcomes = _run(scenario())

    assert isinstance(outcomes[0], NotFound) and isinstance(outcomes[1], BeatRecorded)
    assert _run(_sql(url, ORPHANS)) == [(0,)]


@POSTGRES
def test_a_service_paused_since_it_was_known_refuses_heartbeats(url: str) -> None:
    pause = "UPDATE services SET active = false WHERE name_key = 'alpha'"

    outcomes = _beats_after(url, pause, ["alpha", "beta"])

    assert isinstance(outcomes[0], InvalidInput) and isinstance(outcomes[1], BeatRecorded)


@POSTGRES
def test_a_one_statement_batch_is_stored_whole_or_not_at_all(url: str) -> None:
    async def scenario() -> None:
        known = await _known_after_two_batches(url)
        await _sql(url, REFUSE_SERVICE_UPDATES)
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
                with pytest.raises(psycopg.errors.RaiseException, match="refused"):
                    await postgres_batch._write_known(
                        connection, [_beat("alpha"), _beat("beta")], "UTC", known
                    )
        finally:
            await _sql(url, STOP_REFUSING_SERVICE_UPDATES)

    _run(scenario())

    assert _run(_stored(url)) == 4


def _known_batch_and_notices(url: str, status: Status) -> tuple[list[Any], bool, list[Any]]:
    """A one-statement batch for `alpha` with `status`: its outcomes, whether it asked the
    scheduler to look now, and the notifications a listening scheduler got."""

    async def scenario() -> tuple[list[Any], bool, list[Any]]:
        known = await _known_after_two_batches(url)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as listener:
            await listener.execute("LISTEN medic_scheduler")
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
                written = await postgres_batch._write_known(
                    connection, [_beat("alpha", status)], "UTC", known
                )
            notices = [n async for n in listener.notifies(timeout=1, stop_after=1)]
        assert written is not None
        return written[0], written[1], notices

    return _run(scenario())


@POSTGRES
def test_a_failure_report_from_a_known_service_wakes_the_scheduler(url: str) -> None:
    outcomes, wake, notices = _known_batch_and_notices(url, Status.DOWN)

    assert isinstance(outcomes[0], BeatRecorded) and wake and len(notices) == 1
    [(check_at, failed_at)] = _run(
        _sql(url, "SELECT check_at, last_failure_at FROM services WHERE name_key = 'alpha'")
    )
    assert check_at == failed_at == outcomes[0].time


@POSTGRES
def test_plain_beats_from_known_services_do_not_wake_the_scheduler(url: str) -> None:
    outcomes, wake, notices = _known_batch_and_notices(url, Status.UP)

    assert isinstance(outcomes[0], BeatRecorded) and not wake and notices == []


@POSTGRES
def test_heartbeats_through_the_api_take_the_short_way_after_the_first(
    client: TestClient, medic: MedicProcess, url: str, write_headers: dict[str, str]
) -> None:
    """Through the front door: the app's writer remembers what it looked up, and a
    service renamed in between is refused by its old name at once."""
    for _ in range(3):
        answer = client.post(
            "/v2/heartbeats", json={"heartbeat_name": "alpha"}, headers=write_headers
        )
        assert answer.status_code == 201, answer.text
    assert len(medic.writer._known) == 1

    renamed = client.patch(
        f"/v2/services/{answer.json()['results']['service_id']}",
        json={"heartbeat_name": "omega"},
        headers=write_headers,
    )
    assert renamed.status_code == 200, renamed.text
    old = client.post("/v2/heartbeats", json={"heartbeat_name": "alpha"}, headers=write_headers)
    new = client.post("/v2/heartbeats", json={"heartbeat_name": "omega"}, headers=write_headers)

    assert old.status_code == 404 and new.status_code == 201
    assert _run(_stored(url)) == 4


def _row(service_id: int, name: str, uuid: str) -> dict[str, Any]:
    return {"service_id": service_id, "name_key": name, "uuid": uuid, "hash": service_id}


def test_known_services_are_found_by_any_name_only_when_all_are_known() -> None:
    known = KnownServices()
    known.remember([_row(1, "alpha", "u-1"), _row(2, "beta", "u-2")])
    by_each = [
        BeatRequest(ServiceRef(name_key="alpha"), Status.UP, datetime.now(UTC)),
        BeatRequest(ServiceRef(uuid="u-2"), Status.UP, datetime.now(UTC)),
        BeatRequest(ServiceRef(service_id=1), Status.UP, datetime.now(UTC)),
    ]
    found = known.find(by_each)
    assert found is not None and sorted(found.by_id) == [1, 2]
    assert known.find([*by_each, _beat("gamma")]) is None


def test_a_renamed_service_is_known_by_its_new_name_only() -> None:
    known = KnownServices()
    known.remember([_row(1, "alpha", "u-1")])
    known.remember([_row(1, "omega", "u-1")])
    assert known.find([_beat("alpha")]) is None
    assert known.find([_beat("omega")]) is not None
    known.forget([1])
    assert len(known) == 0 and known.find([_beat("omega")]) is None


def test_known_services_start_over_past_their_limit() -> None:
    known = KnownServices(limit=3)
    known.remember([_row(n, f"s{n}", f"u{n}") for n in range(1, 5)])
    assert len(known) == 1 and known.find([_beat("s4")]) is not None
