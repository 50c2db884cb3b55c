"""Heartbeat ingest with group commit.

"201 means committed" costs one database commit per heartbeat if done naively,
which caps ingest far below what the web stack can serve. Instead every request
joins the next batch: one writer task takes whatever is queued, and in one
transaction resolves the services, inserts all events (multi-row), moves each
service's `last_heartbeat_at` / `next_due_at`, and commits. Only then is every
request in the batch answered. While a batch is being written the next one
fills up, so batches grow with load and latency stays about one commit.

The writer is a task on the event loop using async I/O (psycopg's async mode, or
aiosqlite): a writer thread has to win the GIL back from the busy event loop after
every round trip, and measured at about half this throughput (bench/ingest.py). The batch itself is
plain SQLAlchemy Core (`write_batch`), run through `AsyncConnection.run_sync`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from medic.core.schedules import Schedule, next_due_at
from medic.core.statuses import PROOF_OF_LIFE, Status
from medic.metrics import HEARTBEATS
from medic.models import HeartbeatEvent, Service
from medic.ops.errors import InvalidInput, NotFound, Unavailable

log = logging.getLogger(__name__)

services_table = Service.__table__  # type: ignore[attr-defined]
events_table = HeartbeatEvent.__table__  # type: ignore[attr-defined]

_SERVICE_COLUMNS = [
    services_table.c[name]
    for name in (
        "service_id",
        "uuid",
        "name_key",
        "heartbeat_name",
        "active",
        "alert_interval",
        "threshold",
        "schedule_type",
        "cron_expression",
        "timezone",
        "grace_period_seconds",
        "date_added",
        "last_heartbeat_at",
    )
]


@dataclass(frozen=True, slots=True)
class ServiceRef:
    """How a request names its service: exactly one of the three."""

    name_key: str | None = None
    uuid: str | None = None
    service_id: int | None = None

    def describe(self) -> str:
        if self.name_key is not None:
            return f"heartbeat_name {self.name_key!r}"
        if self.uuid is not None:
            return f"ping URL {self.uuid}"
        return f"service {self.service_id}"


@dataclass(frozen=True, slots=True)
class BeatRequest:
    ref: ServiceRef
    status: Status
    time: datetime
    run_id: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class BeatRecorded:
    heartbeat_id: int
    service_id: int
    heartbeat_name: str
    status: Status
    time: datetime
    run_id: str | None


_Pending = tuple[BeatRequest, asyncio.Future]


class IngestWriter:
    """Owns the writer task. `await record(request)` returns once the beat is committed."""

    def __init__(self, engine: AsyncEngine, default_timezone: str, batch_size: int = 500) -> None:
        self.engine = engine
        self.default_timezone = default_timezone
        self.batch_size = batch_size
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        if self._task is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._run(), name="medic-ingest")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is not None and self._queue is not None:
            await self._queue.join()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.engine.dispose()

    async def record(self, request: BeatRequest) -> BeatRecorded:
        if self._queue is None or self._task is None or self._task.done():
            raise Unavailable("heartbeat ingest is not running")
        future: asyncio.Future[BeatRecorded] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((request, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[_Pending]) -> None:
        requests = [request for request, _ in batch]
        try:
            async with self.engine.begin() as connection:
                outcomes = await connection.run_sync(write_batch, requests, self.default_timezone)
        except Exception:
            log.exception("heartbeat batch of %d failed; clients get 503 and may retry", len(batch))
            outcomes = [Unavailable("the heartbeat could not be stored; retry")] * len(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BeatRecorded):
                HEARTBEATS.labels(outcome.status.value).inc()
            if future.done():
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)


def write_batch(
    connection: Connection, requests: list[BeatRequest], default_timezone: str
) -> list[BeatRecorded | Exception]:
    """Write one batch inside the caller's transaction; one outcome per request, in order."""
    services = _resolve(connection, requests)
    outcomes: list[BeatRecorded | Exception | None] = []
    rows: list[dict[str, Any]] = []
    for request in requests:
        service = services.get(request.ref)
        if service is None:
            outcomes.append(NotFound(f"no service registered for {request.ref.describe()}"))
        elif not service["active"]:
            outcomes.append(InvalidInput(f"service {service['heartbeat_name']!r} is inactive"))
        else:
            outcomes.append(None)
            rows.append(_event_row(service, request))
    if not rows:
        return [o for o in outcomes if o is not None]
    inserted = (
        connection.execute(
            events_table.insert().returning(
                events_table.c.heartbeat_id, sort_by_parameter_order=True
            ),
            rows,
        )
        .scalars()
        .all()
    )
    _move_deadlines(connection, services, rows, default_timezone)
    ids = iter(zip(inserted, rows, strict=True))
    result: list[BeatRecorded | Exception] = []
    for request, outcome in zip(requests, outcomes, strict=True):
        if outcome is not None:
            result.append(outcome)
            continue
        heartbeat_id, row = next(ids)
        result.append(
            BeatRecorded(
                heartbeat_id=heartbeat_id,
                service_id=row["service_id"],
                heartbeat_name=services[request.ref]["heartbeat_name"],
                status=request.status,
                time=request.time,
                run_id=request.run_id,
            )
        )
    return result


def _event_row(service: dict[str, Any], request: BeatRequest) -> dict[str, Any]:
    return {
        "service_id": service["service_id"],
        "time": request.time,
        "status": request.status.value,
        "run_id": request.run_id,
        "message": request.message,
    }


def _resolve(
    connection: Connection, requests: list[BeatRequest]
) -> dict[ServiceRef, dict[str, Any]]:
    """Find every service the batch names, in one query. No row lock: concurrent batches meet
    only in `_move_deadlines`, whose update is correct in either order."""
    names = {r.ref.name_key for r in requests if r.ref.name_key is not None}
    uuids = {r.ref.uuid for r in requests if r.ref.uuid is not None}
    ids = {r.ref.service_id for r in requests if r.ref.service_id is not None}
    conditions = []
    if names:
        conditions.append(services_table.c.name_key.in_(names))
    if uuids:
        conditions.append(services_table.c.uuid.in_(uuids))
    if ids:
        conditions.append(services_table.c.service_id.in_(ids))
    statement = (
        select(*_SERVICE_COLUMNS).where(or_(*conditions)).order_by(services_table.c.service_id)
    )
    found: dict[ServiceRef, dict[str, Any]] = {}
    for row in connection.execute(statement).mappings():
        service = dict(row)
        found[ServiceRef(name_key=service["name_key"])] = service
        found[ServiceRef(uuid=service["uuid"])] = service
        found[ServiceRef(service_id=service["service_id"])] = service
    return found


def _move_deadlines(
    connection: Connection,
    services: dict[ServiceRef, dict[str, Any]],
    rows: list[dict[str, Any]],
    default_timezone: str,
) -> None:
    """Advance last_heartbeat_at for every beat, next_due_at only for proof of life.

    Both only ever move later ("the later of stored and new"): a later beat never makes a
    deadline earlier, so two batches for one service, committing in either order, leave
    the later values. A configuration change recomputes next_due_at in its own transaction.
    """
    newest_any: dict[int, datetime] = {}
    newest_alive: dict[int, datetime] = {}
    for row in rows:
        sid = row["service_id"]
        newest_any[sid] = max(row["time"], newest_any.get(sid, row["time"]))
        if Status(row["status"]) in PROOF_OF_LIFE:
            newest_alive[sid] = max(row["time"], newest_alive.get(sid, row["time"]))
    by_id = {s["service_id"]: s for s in services.values()}
    updates = []
    for sid, last in newest_any.items():
        service = by_id[sid]
        update_row: dict[str, Any] = {"sid": sid, "last": last, "due": None}
        if sid in newest_alive:
            schedule = _schedule(service, default_timezone)
            beats = (
                [newest_alive[sid]]
                if schedule.threshold == 1 and schedule.schedule_type != "window"
                else _recent_alive_beats(connection, sid, schedule.threshold)
            )
            update_row["due"] = next_due_at(schedule, beats, service["date_added"])
        updates.append(update_row)
    with_due = [u for u in updates if u["due"] is not None]
    without_due = [u for u in updates if u["due"] is None]
    if with_due:
        connection.execute(
            update(services_table)
            .where(services_table.c.service_id == bindparam("sid"))
            .values(
                last_heartbeat_at=_later(services_table.c.last_heartbeat_at, "last"),
                next_due_at=_later(services_table.c.next_due_at, "due"),
                # Leaving late/down is detection's decision (it closes the alert); ingest only
                # marks a new service as having started.
                state=case((services_table.c.state == "new", "up"), else_=services_table.c.state),
            ),
            with_due,
        )
    if without_due:
        connection.execute(
            update(services_table)
            .where(services_table.c.service_id == bindparam("sid"))
            .values(last_heartbeat_at=_later(services_table.c.last_heartbeat_at, "last")),
            [{"sid": u["sid"], "last": u["last"]} for u in without_due],
        )


def _later(column: Any, parameter: str) -> Any:
    """SQL for "the later of the stored value and :parameter" (NULL counts as earliest)."""
    new = bindparam(parameter, type_=column.type)
    return case((column.is_(None), new), (column < new, new), else_=column)


def _schedule(service: dict[str, Any], default_timezone: str) -> Schedule:
    return Schedule(
        schedule_type=service["schedule_type"],
        alert_interval_minutes=service["alert_interval"],
        threshold=service["threshold"],
        cron_expression=service["cron_expression"],
        timezone=service["timezone"] or default_timezone,
        grace_period_seconds=service["grace_period_seconds"],
    )


def _recent_alive_beats(connection: Connection, service_id: int, count: int) -> list[datetime]:
    statement = (
        select(events_table.c.time)
        .where(events_table.c.service_id == service_id)
        .where(events_table.c.status.in_([s.value for s in PROOF_OF_LIFE]))
        .order_by(events_table.c.time.desc())
        .limit(count)
    )
    return list(connection.execute(statement).scalars())
