"""Heartbeat ingest with group commit.

"201 means committed" costs one database commit per heartbeat if done naively,
which caps ingest far below what the web stack can serve. Instead every request
joins the next batch: one writer thread takes whatever is queued, and in one
transaction resolves the services, inserts all events (multi-row), moves each
service's `last_heartbeat_at` / `next_due_at`, and commits. Only then is every
request in the batch answered. While a batch is being written the next one
fills up, so batches grow with load and latency stays about one commit.

The writer uses SQLAlchemy Core (no ORM objects) on the same engine as the rest.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, or_, select, update

from medic.core.schedules import Schedule, next_due_at
from medic.core.statuses import PROOF_OF_LIFE, Status
from medic.db import Database
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


_Pending = tuple[BeatRequest, asyncio.Future, asyncio.AbstractEventLoop]


class IngestWriter:
    """Owns the writer thread. `await record(request)` returns once the beat is committed."""

    def __init__(self, db: Database, default_timezone: str, batch_size: int = 500) -> None:
        self.db = db
        self.default_timezone = default_timezone
        self.batch_size = batch_size
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="medic-ingest", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    async def record(self, request: BeatRequest) -> BeatRecorded:
        if self._thread is None:
            raise Unavailable("heartbeat ingest is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[BeatRecorded] = loop.create_future()
        self._queue.put((request, future, loop))
        return await future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            while len(batch) < self.batch_size:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._write(batch)
            if stopping:
                return

    def _write(self, batch: list[_Pending]) -> None:
        try:
            with self.db.engine.begin() as connection:
                outcomes = write_batch(connection, [p[0] for p in batch], self.default_timezone)
        except Exception:
            log.exception("heartbeat batch of %d failed; clients get 503 and may retry", len(batch))
            failure = Unavailable("the heartbeat could not be stored; retry")
            outcomes = [failure] * len(batch)
        else:
            for outcome in outcomes:
                if isinstance(outcome, BeatRecorded):
                    HEARTBEATS.labels(outcome.status.value).inc()
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Any]]] = defaultdict(
            list
        )
        for (_, future, loop), outcome in zip(batch, outcomes, strict=True):
            by_loop[loop].append((future, outcome))
        for loop, results in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, results)
            except RuntimeError:
                log.warning("event loop closed before %d heartbeat answers", len(results))


def _settle(results: list[tuple[asyncio.Future, Any]]) -> None:
    for future, outcome in results:
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
    """Find every service the batch names, in one query, locked against concurrent batches."""
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
        select(*_SERVICE_COLUMNS)
        .where(or_(*conditions))
        .order_by(services_table.c.service_id)
        .with_for_update()
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
    """Advance last_heartbeat_at for every beat, next_due_at only for proof of life."""
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
        previous = service["last_heartbeat_at"]
        update_row = {
            "sid": sid,
            "last": max(last, previous) if previous else last,
            "due": None,
        }
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
                last_heartbeat_at=bindparam("last"),
                next_due_at=bindparam("due"),
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
            .values(last_heartbeat_at=bindparam("last")),
            [{"sid": u["sid"], "last": u["last"]} for u in without_due],
        )


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
