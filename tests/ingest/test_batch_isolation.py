"""Heartbeats share a batch, never a fate: one request the database refuses fails only
itself; a passing database problem is retried before anyone gets a 503; two writers
(two API workers) lock services in one order, so they never deadlock."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime

import psycopg
import pytest
from fastapi.testclient import TestClient

from medic.core.statuses import Status
from medic.ingest import postgres_batch
from medic.ingest.writer import BeatRecorded, BeatRequest, IngestWriter, ServiceRef
from medic.ops import services
from medic.ops.actor import cli_operator
from medic.ops.errors import Unavailable
from medic.ops.service_commands import RegisterService
from medic.process import MedicProcess
from tests.support import REFUSE_SERVICE_UPDATES, STOP_REFUSING_SERVICE_UPDATES

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _register(medic: MedicProcess, count: int) -> list[int]:
    context = medic.context(cli_operator())
    return [
        services.register(context, RegisterService.of(heartbeat_name=f"svc-{n}", alert_interval=5))[
            0
        ].service_id
        for n in range(count)
    ]


def _beat(service_id: int) -> BeatRequest:
    return BeatRequest(ServiceRef(service_id=service_id), Status.UP, datetime.now(UTC))


def _writer(medic: MedicProcess) -> IngestWriter:
    from medic.db import make_async_engine

    settings = medic.settings
    return IngestWriter(
        make_async_engine(settings),
        settings.medic_timezone,
        postgres_conninfo=None if settings.is_sqlite else settings.libpq_url,
    )


async def test_a_heartbeat_the_database_refuses_fails_only_itself(medic: MedicProcess) -> None:
    """An id past the column's range gets past no door (404 there); written straight to
    the writer, inside a batch of good ones, it is the only one refused."""
    ids = _register(medic, 5)
    writer = _writer(medic)
    await writer.start()
    try:
        bad = _beat(2**40)
        answers = await asyncio.gather(
            *(writer.record(_beat(i)) for i in ids[:2]),
            writer.record(bad),
            *(writer.record(_beat(i)) for i in ids[2:]),
            return_exceptions=True,
        )
    finally:
        await writer.stop()

    assert isinstance(answers[2], Unavailable | Exception) and not isinstance(
        answers[2], BeatRecorded
    )
    good = answers[:2] + answers[3:]
    assert all(isinstance(a, BeatRecorded) for a in good), good
    assert sorted(a.service_id for a in good) == sorted(ids)


def test_an_id_beyond_the_database_range_is_404_and_others_still_201(
    client: TestClient, register, write_headers: dict[str, str]
) -> None:
    service = register("nightly-backup")
    huge = client.post(
        "/v2/heartbeats", json={"service_id": 9223372036854775808}, headers=write_headers
    )
    fine = client.post(
        "/v2/heartbeats", json={"service_id": service["service_id"]}, headers=write_headers
    )
    assert huge.status_code == 404, huge.text
    assert fine.status_code == 201, fine.text


async def test_writers_on_the_same_services_never_deadlock(
    medic: MedicProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """Four writers (four API workers), each batch naming the same services in its own
    random order, many rounds: without one lock order PostgreSQL reports `deadlock
    detected` (and the batch is retried)."""
    ids = _register(medic, 60)
    writers = [_writer(medic) for _ in range(4)]
    for writer in writers:
        await writer.start()
    caplog.set_level(logging.INFO, logger="medic.ingest.writer")
    shuffled = random.Random(7)
    try:
        for _ in range(25):
            orders = [shuffled.sample(ids, len(ids)) for _ in writers]
            answers = await asyncio.gather(
                *(
                    w.record(_beat(i))
                    for w, order in zip(writers, orders, strict=True)
                    for i in order
                ),
                return_exceptions=True,
            )
            assert all(isinstance(a, BeatRecorded) for a in answers), answers
    finally:
        for writer in writers:
            await writer.stop()

    assert "deadlock" not in caplog.text
    assert "failed" not in caplog.text


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize("status", [Status.UP, Status.COMPLETED])
async def test_a_batch_is_stored_whole_or_not_at_all(medic: MedicProcess, status: Status) -> None:
    """Plain beats are one transaction without BEGIN or COMMIT (the pipeline's implicit
    one, committed at its Sync); a batch with job-run signals opens its own. Either way,
    when the database refuses the services' update, which comes after the events'
    insert, none of the batch's events is stored."""
    ids = _register(medic, 3)
    url = medic.settings.libpq_url
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        await connection.execute(REFUSE_SERVICE_UPDATES)
    try:
        # A failed batch leaves its connection to be dropped, as the writer drops it.
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
            beats = [BeatRequest(ServiceRef(service_id=i), status, datetime.now(UTC)) for i in ids]
            with pytest.raises(psycopg.errors.RaiseException, match="service updates refused"):
                await postgres_batch.write_batch(connection, beats, "UTC")
    finally:
        # The trigger must not outlive this test, whatever happened (the database is shared).
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
            await connection.execute(STOP_REFUSING_SERVICE_UPDATES)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        counted = await connection.execute("SELECT count(*) FROM heartbeat_events")
        stored = await counted.fetchone()

    assert stored == (0,)
