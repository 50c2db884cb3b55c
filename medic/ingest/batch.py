"""One heartbeat batch: what it contains and the rules for writing it, shared by both
writers (PostgreSQL through psycopg, others through SQLAlchemy Core). No I/O here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from medic.core.schedules import next_due_at, schedule_of
from medic.core.statuses import FAILURES, PROOF_OF_LIFE, Status
from medic.ingest.job_runs import RunSignal
from medic.ops.errors import InvalidInput, NotFound

# What a batch needs to know of each service it names.
SERVICE_COLUMNS = (
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
    "max_duration_seconds",
    "date_added",
    "state",
)
EVENT_COLUMNS = ("service_id", "time", "status", "run_id", "message")


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
    # An end (COMPLETED/FAILED) with a run id: what it did to its run (job_runs).
    run: RunSignal | None = None


Outcome = BeatRecorded | Exception


def index_services(rows: Iterable[Mapping[str, Any]]) -> dict[ServiceRef, dict[str, Any]]:
    """Services found for a batch, reachable by any of the three ways a request names one."""
    found: dict[ServiceRef, dict[str, Any]] = {}
    for row in rows:
        service = dict(row)
        found[ServiceRef(name_key=service["name_key"])] = service
        found[ServiceRef(uuid=service["uuid"])] = service
        found[ServiceRef(service_id=service["service_id"])] = service
    return found


def lookups(requests: list[BeatRequest]) -> tuple[list[str], list[str], list[int]]:
    """The names, uuids and ids a batch asks for."""
    names = {r.ref.name_key for r in requests if r.ref.name_key is not None}
    uuids = {r.ref.uuid for r in requests if r.ref.uuid is not None}
    ids = {r.ref.service_id for r in requests if r.ref.service_id is not None}
    return sorted(names), sorted(uuids), sorted(ids)


def plan(
    requests: list[BeatRequest], services: dict[ServiceRef, dict[str, Any]]
) -> tuple[list[Exception | None], list[dict[str, Any]]]:
    """Per request: an error, or None and an event row to insert (rows in request order)."""
    outcomes: list[Exception | None] = []
    rows: list[dict[str, Any]] = []
    for request in requests:
        service = services.get(request.ref)
        if service is None:
            outcomes.append(NotFound(f"no service registered for {request.ref.describe()}"))
        elif not service["active"]:
            outcomes.append(InvalidInput(f"service {service['heartbeat_name']!r} is inactive"))
        else:
            outcomes.append(None)
            rows.append(
                {
                    "service_id": service["service_id"],
                    "time": request.time,
                    "status": request.status.value,
                    "run_id": request.run_id,
                    "message": request.message,
                }
            )
    return outcomes, rows


def needs_history(service: Mapping[str, Any]) -> bool:
    """Threshold and window schedules look at earlier beats, not only the newest."""
    return service["threshold"] > 1 or service["schedule_type"] == "window"


def newest_beats(rows: list[dict[str, Any]]) -> dict[str, dict[int, datetime]]:
    """Per service: its newest beat of any kind (`last`), newest proof of life (`alive`)
    and newest failure report (`failed`)."""
    newest: dict[str, dict[int, datetime]] = {"last": {}, "alive": {}, "failed": {}}
    for row in rows:
        sid, time, status = row["service_id"], row["time"], Status(row["status"])
        kinds = ["last"]
        if status in PROOF_OF_LIFE:
            kinds.append("alive")
        elif status in FAILURES:
            kinds.append("failed")
        for kind in kinds:
            newest[kind][sid] = max(time, newest[kind].get(sid, time))
    return newest


def service_updates(
    services_by_id: Mapping[int, Mapping[str, Any]],
    rows: list[dict[str, Any]],
    default_timezone: str,
    history: Mapping[int, list[datetime]],
) -> list[dict[str, Any]]:
    """Per service in the batch, the values the writers merge into its row.

    `last`, `alive`, `failed` and `due` are stored as "the later of stored and new",
    `check_by` (check_at) as "the earlier": so two batches for one service, committing in either
    order, leave the same row. `due` (next_due_at) moves only on proof of life; `check_by`
    asks the scheduler to look at once (a failure report) or when a STARTED run reaches
    max_duration. A recovery is requested in SQL, where the row's current state is known.
    `history` holds the recent proof-of-life beats (newest first, this batch's included)
    of the services that `needs_history`.
    """
    newest = newest_beats(rows)
    checks: dict[int, datetime] = dict(newest["failed"])
    for row in rows:
        service = services_by_id[row["service_id"]]
        if row["status"] == Status.STARTED and service["max_duration_seconds"]:
            deadline = row["time"] + timedelta(seconds=service["max_duration_seconds"])
            checks[row["service_id"]] = min(deadline, checks.get(row["service_id"], deadline))
    updates = []
    for sid, last in newest["last"].items():
        due = None
        if sid in newest["alive"]:
            service = services_by_id[sid]
            beats = history[sid] if needs_history(service) else [newest["alive"][sid]]
            due = next_due_at(schedule_of(service, default_timezone), beats, service["date_added"])
        updates.append(
            {
                "sid": sid,
                "last": last,
                "alive": newest["alive"].get(sid),
                "failed": newest["failed"].get(sid),
                "due": due,
                "check_by": checks.get(sid),
            }
        )
    return updates


UPDATE_COLUMNS = ("sid", "last", "alive", "failed", "due", "check_by")


def wakes_scheduler(updates: list[dict[str, Any]], states: Mapping[int, str]) -> bool:
    """Whether the batch asked the scheduler to look before its next planned wake-up:
    a failure, a run deadline, or proof of life from a service that is down."""
    return any(
        u["check_by"] is not None or (u["alive"] is not None and states.get(u["sid"]) == "down")
        for u in updates
    )


def stored_rows(
    rows: list[dict[str, Any]], signals: list[RunSignal | None]
) -> list[dict[str, Any]]:
    """The rows to insert: all but the repeated ends of runs (see medic.ingest.job_runs)."""
    return [row for row, signal in zip(rows, signals, strict=True) if not _repeat(signal)]


def _repeat(signal: RunSignal | None) -> bool:
    return signal is not None and signal.repeated


def results(
    requests: list[BeatRequest],
    outcomes: list[Exception | None],
    heartbeat_ids: list[int],
    rows: list[dict[str, Any]],
    services: dict[ServiceRef, dict[str, Any]],
    signals: list[RunSignal | None] | None = None,
) -> list[Outcome]:
    """One outcome per request, in order, once the stored rows have their ids. A
    repeated end answers with the beat that ended its run."""
    signals = signals if signals is not None else [None] * len(rows)
    inserted = iter(heartbeat_ids)
    # Per row: its heartbeat id and time (a repeat: those of the beat it repeats).
    stored: list[tuple[int, datetime]] = []
    for row, signal in zip(rows, signals, strict=True):
        if signal is None or not signal.repeated:
            stored.append((next(inserted), row["time"]))
        elif signal.repeat_of_row is not None:
            stored.append(stored[signal.repeat_of_row])
        else:
            assert signal.heartbeat_id is not None and signal.time is not None
            stored.append((signal.heartbeat_id, signal.time))
    answers: list[Outcome] = []
    position = 0
    for request, outcome in zip(requests, outcomes, strict=True):
        if outcome is not None:
            answers.append(outcome)
            continue
        row, signal = rows[position], signals[position]
        heartbeat_id, time = stored[position]
        position += 1
        answers.append(
            BeatRecorded(
                heartbeat_id=heartbeat_id,
                service_id=row["service_id"],
                heartbeat_name=services[request.ref]["heartbeat_name"],
                status=request.status,
                time=time,
                run_id=request.run_id,
                run=signal,
            )
        )
    return answers
