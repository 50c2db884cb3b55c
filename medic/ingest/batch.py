"""One heartbeat batch: what it contains and the rules for writing it, shared by both
writers (PostgreSQL through psycopg, others through SQLAlchemy Core). No I/O here."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from medic.core.detection_rules import rules_of, start_deadline
from medic.core.schedules import next_due_at, schedule_of
from medic.core.statuses import FAILURES, PROOF_OF_LIFE, Status
from medic.ingest.job_runs import RunSignal
from medic.ingest.judgement import judge
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
    "consecutive_failures",
    "min_duration_seconds",
    "max_beats",
    "start_grace_seconds",
)


# Named tuples, not frozen dataclasses: each heartbeat makes one of each, and a frozen
# dataclass's __init__ (object.__setattr__ per field) cost 1.5-2 µs apiece here.
class ServiceRef(NamedTuple):
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


class BeatRequest(NamedTuple):
    ref: ServiceRef
    status: Status
    time: datetime
    run_id: str | None = None
    message: str | None = None


class BeatRecorded(NamedTuple):
    heartbeat_id: int
    service_id: int
    heartbeat_name: str
    status: Status
    time: datetime
    run_id: str | None
    # An end (COMPLETED/FAILED) with a run id: what it did to its run (job_runs).
    run: RunSignal | None = None


Outcome = BeatRecorded | Exception


class FoundServices:
    """The services found for a batch, by id, and reachable by any of the three ways a
    request names one."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.by_id: dict[int, dict[str, Any]] = {row["service_id"]: dict(row) for row in rows}
        self._by_name = {service["name_key"]: service for service in self.by_id.values()}
        self._by_uuid = {service["uuid"]: service for service in self.by_id.values()}

    def get(self, ref: ServiceRef) -> dict[str, Any] | None:
        if ref.name_key is not None:
            return self._by_name.get(ref.name_key)
        if ref.uuid is not None:
            return self._by_uuid.get(ref.uuid)
        return None if ref.service_id is None else self.by_id.get(ref.service_id)


def lookups(requests: list[BeatRequest]) -> tuple[list[str], list[str], list[int]]:
    """The names, uuids and ids a batch asks for."""
    names = {r.ref.name_key for r in requests if r.ref.name_key is not None}
    uuids = {r.ref.uuid for r in requests if r.ref.uuid is not None}
    ids = {r.ref.service_id for r in requests if r.ref.service_id is not None}
    return sorted(names), sorted(uuids), sorted(ids)


def plan(
    requests: list[BeatRequest], services: FoundServices
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
    return (
        service["threshold"] > 1
        or service["schedule_type"] == "window"
        or service["max_beats"] is not None
    )


def newest_beats(
    rows: list[dict[str, Any]], judged: Mapping[int, str] | None = None
) -> dict[str, dict[int, datetime]]:
    """Per service: its newest beat of any kind (`last`), newest proof of life (`alive`)
    and newest failure report (`failed`); a row `judged` a failure is one
    (medic.ingest.judgement)."""
    judged = judged or {}
    last: dict[int, datetime] = {}
    alive: dict[int, datetime] = {}
    failed: dict[int, datetime] = {}
    for index, row in enumerate(rows):
        sid, time, status = row["service_id"], row["time"], row["status"]
        _keep_later(last, sid, time)
        if index in judged or status in FAILURES:
            _keep_later(failed, sid, time)
        elif status in PROOF_OF_LIFE:
            _keep_later(alive, sid, time)
    return {"last": last, "alive": alive, "failed": failed}


def _keep_later(newest: dict[int, datetime], sid: int, time: datetime) -> None:
    known = newest.get(sid)
    if known is None or time > known:
        newest[sid] = time


def service_updates(
    services_by_id: Mapping[int, Mapping[str, Any]],
    rows: list[dict[str, Any]],
    default_timezone: str,
    history: Mapping[int, list[datetime]],
    judged: Mapping[int, str] | None = None,
) -> list[dict[str, Any]]:
    """Per service in the batch, the values the writers merge into its row.

    `last`, `alive`, `failed` and `due` are stored as "the later of stored and new",
    `check_by` (check_at) as "the earlier": so two batches for one service, committing in either
    order, leave the same row. `due` (next_due_at) moves only on proof of life; `check_by`
    asks the scheduler to look at once (a failure report) or when a STARTED run reaches
    max_duration. A recovery is requested in SQL, where the row's current state is known.
    `history` holds the recent proof-of-life beats (newest first, this batch's included)
    of the services that `needs_history`. `judged` rows are failures; `reason` says why the
    newest failure is one when it was judged (None: a FAILED or DOWN). A job with a start
    grace asks to be looked at when its next run must have started.
    """
    judged = judged or {}
    newest = newest_beats(rows, judged)
    reasons = {
        row["service_id"]: judged.get(index)
        for index, row in enumerate(rows)
        if newest["failed"].get(row["service_id"]) == row["time"]
        and (index in judged or row["status"] in FAILURES)
    }
    checks: dict[int, datetime] = dict(newest["failed"])
    for row in rows:
        service = services_by_id[row["service_id"]]
        if row["status"] != Status.STARTED:
            continue
        sid = row["service_id"]
        if service["max_duration_seconds"]:
            deadline = row["time"] + timedelta(seconds=service["max_duration_seconds"])
            checks[sid] = min(deadline, checks.get(sid, deadline))
        if _late_starter(service):
            checks[sid] = min(row["time"], checks.get(sid, row["time"]))
    updates = []
    for sid, last in newest["last"].items():
        due = None
        if sid in newest["alive"]:
            service = services_by_id[sid]
            beats = history[sid] if needs_history(service) else [newest["alive"][sid]]
            schedule = schedule_of(service, default_timezone)
            due = next_due_at(schedule, beats, service["date_added"])
            if service["start_grace_seconds"] is not None:
                start = start_deadline(schedule, rules_of(service), due)
                if start is not None:
                    checks[sid] = min(start, checks.get(sid, start))
        updates.append(
            {
                "sid": sid,
                "last": last,
                "alive": newest["alive"].get(sid),
                "failed": newest["failed"].get(sid),
                "due": due,
                "check_by": checks.get(sid),
                "reason": reasons.get(sid),
            }
        )
    return updates


def _late_starter(service: Mapping[str, Any]) -> bool:
    """A job with a start grace that is down or counting failures: its STARTED may be the
    start it was late with, so the scheduler looks at once."""
    return service["start_grace_seconds"] is not None and (
        service["state"] == "down" or service["consecutive_failures"] > 0
    )


def merge_plan(
    services_by_id: Mapping[int, Mapping[str, Any]],
    rows: list[dict[str, Any]],
    starts: list[datetime | None],
    history: Mapping[int, list[datetime]],
    default_timezone: str,
) -> tuple[list[dict[str, Any]], bool]:
    """What the stored `rows` do to their services (judged, then service_updates), and
    whether the scheduler must look now (wakes_scheduler), from the services' states
    as read under their rows' locks. Both writers take this one step."""
    judged = judge(rows, services_by_id, starts, history, default_timezone)
    updates = service_updates(services_by_id, rows, default_timezone, history, judged)
    states = {sid: service["state"] for sid, service in services_by_id.items()}
    return updates, wakes_scheduler(updates, states, counting_failures(services_by_id))


def wakes_scheduler(
    updates: list[dict[str, Any]], states: Mapping[int, str], counting: Collection[int] = ()
) -> bool:
    """Whether the batch asked the scheduler to look before its next planned wake-up:
    a failure, a run deadline, or proof of life from a service that is down or
    `counting` failures before it alerts."""
    return any(
        u["check_by"] is not None
        or (u["alive"] is not None and (states.get(u["sid"]) == "down" or u["sid"] in counting))
        for u in updates
    )


def counting_failures(services_by_id: Mapping[int, Mapping[str, Any]]) -> set[int]:
    """The services failing before they alert (medic.core.detection's pending)."""
    return {
        sid
        for sid, service in services_by_id.items()
        if service["state"] != "down" and service["consecutive_failures"] > 0
    }


def stored_rows(
    rows: list[dict[str, Any]], signals: list[RunSignal | None]
) -> list[dict[str, Any]]:
    """The rows to insert: all but the repeated ends of runs (see medic.ingest.job_runs)."""
    return [row for row, signal in zip(rows, signals, strict=True) if not _repeat(signal)]


def stored_starts(
    signals: list[RunSignal | None], starts: Mapping[int, datetime]
) -> list[datetime | None]:
    """Per stored row (stored_rows), when the run it finished started."""
    return [starts.get(index) for index, signal in enumerate(signals) if not _repeat(signal)]


def _repeat(signal: RunSignal | None) -> bool:
    return signal is not None and signal.repeated


def results(
    requests: list[BeatRequest],
    outcomes: list[Exception | None],
    heartbeat_ids: list[int],
    rows: list[dict[str, Any]],
    services: FoundServices,
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
                heartbeat_name=services.by_id[row["service_id"]]["heartbeat_name"],
                status=request.status,
                time=time,
                run_id=request.run_id,
                run=signal,
            )
        )
    return answers
