"""A heartbeat batch through SQLAlchemy Core: the writer for SQLite (the embedded default)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, or_, select, text, update

from medic.core.statuses import PROOF_OF_LIFE
from medic.ingest.batch import (
    SERVICE_COLUMNS,
    BeatRequest,
    FoundServices,
    Outcome,
    lookups,
    merge_plan,
    needs_history,
    newest_beats,
    plan,
    results,
    stored_rows,
    stored_starts,
)
from medic.ingest.job_runs import RunSignal, run_changes
from medic.ingest.judgement import alive_counts, history_size
from medic.models import HeartbeatEvent, Service

services_table = Service.__table__  # type: ignore[attr-defined]
events_table = HeartbeatEvent.__table__  # type: ignore[attr-defined]


def write_batch(
    connection: Connection, requests: list[BeatRequest], default_timezone: str
) -> tuple[list[Outcome], bool]:
    """Write one batch inside the caller's transaction: one outcome per request, in
    order, and whether the scheduler should look now. On SQLite the transaction holds
    the write lock from its first statement, so the states read here are current."""
    names, uuids, ids = lookups(requests)
    conditions = []
    if names:
        conditions.append(services_table.c.name_key.in_(names))
    if uuids:
        conditions.append(services_table.c.uuid.in_(uuids))
    if ids:
        conditions.append(services_table.c.service_id.in_(ids))
    found = connection.execute(
        select(*(services_table.c[name] for name in SERVICE_COLUMNS)).where(or_(*conditions))
    )
    services = FoundServices(found.mappings())
    outcomes, rows = plan(requests, services)
    starts: dict[int, datetime] = {}
    signals = _apply_runs(connection, rows, starts)
    stored = stored_rows(rows, signals)
    if not stored:
        return results(requests, outcomes, [], rows, services, signals), False
    inserted = connection.execute(
        events_table.insert().returning(events_table.c.heartbeat_id, sort_by_parameter_order=True),
        stored,
    )
    heartbeat_ids = list(inserted.scalars().all())
    by_id = services.by_id
    in_batch = alive_counts(stored)
    history = {
        sid: _recent_alive_beats(connection, sid, history_size(by_id[sid], in_batch.get(sid, 0)))
        for sid in newest_beats(stored)["alive"]
        if needs_history(by_id[sid])
    }
    run_starts = stored_starts(signals, starts)
    updates, wake = merge_plan(by_id, stored, run_starts, history, default_timezone)
    _store(connection, updates)
    return results(requests, outcomes, heartbeat_ids, rows, services, signals), wake


def _apply_runs(
    connection: Connection, rows: list[dict[str, Any]], starts: dict[int, datetime]
) -> list[RunSignal | None]:
    """Drive medic.ingest.job_runs.run_changes: run each statement, send its rows back."""
    changes = run_changes(rows, starts)
    try:
        statement, params = next(changes)
        while True:
            result = connection.execute(text(statement), params)
            returned = [dict(r) for r in result.mappings()] if result.returns_rows else []
            statement, params = changes.send(returned)
    except StopIteration as done:
        return done.value


def _store(connection: Connection, updates: list[dict[str, Any]]) -> None:
    """The same merge as the PostgreSQL writer's MERGE_SERVICES (see there)."""
    columns = services_table.c
    alive = bindparam("alive", type_=columns.last_alive_at.type)
    failed = bindparam("failed", type_=columns.last_failure_at.type)
    recovery = case(
        ((columns.state == "down") | (columns.consecutive_failures > 0), alive), else_=None
    )
    newest_failure = failed.is_not(None) & (
        columns.last_failure_at.is_(None) | (failed >= columns.last_failure_at)
    )
    connection.execute(
        update(services_table)
        .where(columns.service_id == bindparam("sid"))
        .values(
            last_heartbeat_at=_later(columns.last_heartbeat_at, "last"),
            last_alive_at=_later(columns.last_alive_at, "alive"),
            last_failure_at=_later(columns.last_failure_at, "failed"),
            last_failure_reason=case(
                (newest_failure, bindparam("reason", type_=columns.last_failure_reason.type)),
                else_=columns.last_failure_reason,
            ),
            next_due_at=_later(columns.next_due_at, "due"),
            deadline_check_at=func.coalesce(
                columns.deadline_check_at,
                _earliest(columns.next_due_at, bindparam("due", type_=columns.next_due_at.type)),
            ),
            check_at=_earliest(
                columns.check_at, bindparam("check_by", type_=columns.check_at.type), recovery
            ),
            state=case((alive.is_not(None) & (columns.state == "new"), "up"), else_=columns.state),
        ),
        updates,
    )


def _later(column: Any, parameter: str) -> Any:
    """SQL for "the later of the stored value and :parameter" (NULL counts as earliest)."""
    new = bindparam(parameter, type_=column.type)
    return case((new.is_(None), column), (column.is_(None), new), (column < new, new), else_=column)


def _earliest(first: Any, *others: Any) -> Any:
    """The earliest non-NULL value (SQLite's min() is NULL as soon as one value is)."""
    earliest = first
    for value in others:
        earliest = case(
            (earliest.is_(None), value),
            (value.is_(None), earliest),
            (value < earliest, value),
            else_=earliest,
        )
    return earliest


def _recent_alive_beats(connection: Connection, service_id: int, count: int) -> list[datetime]:
    statement = (
        select(events_table.c.time)
        .where(events_table.c.service_id == service_id)
        .where(events_table.c.status.in_([s.value for s in PROOF_OF_LIFE]))
        .order_by(events_table.c.time.desc())
        .limit(count)
    )
    return list(connection.execute(statement).scalars())
