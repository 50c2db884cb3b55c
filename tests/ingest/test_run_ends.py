"""Ends of one run that share a batch: the second end of a run the first one finished
in that same batch is a retry (stored once, answered with the first one's heartbeat),
exactly as when they arrive in separate batches."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from medic.core.statuses import Status
from medic.db import make_async_engine
from medic.ingest.writer import BeatRecorded, BeatRequest, IngestWriter, ServiceRef
from medic.models import HeartbeatEvent
from medic.ops import services
from medic.ops.actor import cli_operator
from medic.ops.service_commands import RegisterService
from medic.process import MedicProcess

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_repeated_end_in_the_same_batch_is_stored_once(medic: MedicProcess) -> None:
    context = medic.context(cli_operator())
    registered, _ = services.register(
        context, RegisterService.of(heartbeat_name="nightly-backup", alert_interval=60)
    )
    sid = registered.service_id
    settings = medic.settings
    writer = IngestWriter(
        make_async_engine(settings),
        settings.medic_timezone,
        postgres_conninfo=None if settings.is_sqlite else settings.libpq_url,
    )
    started = datetime.now(UTC)

    def beat(status: Status, seconds: int) -> BeatRequest:
        moment = started + timedelta(seconds=seconds)
        return BeatRequest(ServiceRef(service_id=sid), status, moment, run_id="r-1")

    await writer.start()
    try:
        answers = await asyncio.gather(
            writer.record(beat(Status.STARTED, 0)),
            writer.record(beat(Status.COMPLETED, 7)),
            writer.record(beat(Status.COMPLETED, 8)),
        )
    finally:
        await writer.stop()

    assert all(isinstance(answer, BeatRecorded) for answer in answers)
    _, first, retry = answers
    assert first.run is not None and first.run.known and not first.run.repeated
    assert retry.run is not None and retry.run.repeated
    assert (retry.heartbeat_id, retry.time) == (first.heartbeat_id, first.time)
    with medic.db.session() as session:
        stored = session.exec(select(HeartbeatEvent.status).order_by(HeartbeatEvent.time))
        assert list(stored) == ["STARTED", "COMPLETED"]
