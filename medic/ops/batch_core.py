"""A heartbeat batch through SQLAlchemy Core: the writer for SQLite (the embedded default)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, or_, select, update

from medic.core.statuses import PROOF_OF_LIFE
from medic.models import HeartbeatEvent, Service
from medic.ops.batch import (
    SERVICE_COLUMNS,
    BeatRequest,
    Outcome,
    deadline_updates,
    index_services,
    lookups,
    needs_history,
    newest_beats,
    plan,
    results,
)

services_table = Service.__table__  # type: ignore[attr-defined]
events_table = HeartbeatEvent.__table__  # type: ignore[attr-defined]


def write_batch(
    connection: Connection, requests: list[BeatRequest], default_timezone: str
) -> list[Outcome]:
    """Write one batch inside the caller's transaction; one outcome per request, in order."""
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
    services = index_services(found.mappings())
    outcomes, rows = plan(requests, services)
    if not rows:
        return results(requests, outcomes, [], rows, services)
    inserted = connection.execute(
        events_table.insert().returning(events_table.c.heartbeat_id, sort_by_parameter_order=True),
        rows,
    )
    heartbeat_ids = list(inserted.scalars().all())
    by_id = {s["service_id"]: s for s in services.values()}
    _, newest_alive = newest_beats(rows)
    history = {
        sid: _recent_alive_beats(connection, sid, by_id[sid]["threshold"])
        for sid in newest_alive
        if needs_history(by_id[sid])
    }
    _store(connection, deadline_updates(by_id, rows, default_timezone, history))
    return results(requests, outcomes, heartbeat_ids, rows, services)


def _store(connection: Connection, updates: list[dict[str, Any]]) -> None:
    with_due = [u for u in updates if u["due"] is not None]
    without_due = [{"sid": u["sid"], "last": u["last"]} for u in updates if u["due"] is None]
    where = services_table.c.service_id == bindparam("sid")
    if with_due:
        connection.execute(
            update(services_table)
            .where(where)
            .values(
                last_heartbeat_at=_later(services_table.c.last_heartbeat_at, "last"),
                next_due_at=_later(services_table.c.next_due_at, "due"),
                # Leaving late/down is detection's decision (it closes the alert); ingest
                # only marks a new service as having started.
                state=case((services_table.c.state == "new", "up"), else_=services_table.c.state),
            ),
            with_due,
        )
    if without_due:
        connection.execute(
            update(services_table)
            .where(where)
            .values(last_heartbeat_at=_later(services_table.c.last_heartbeat_at, "last")),
            without_due,
        )


def _later(column: Any, parameter: str) -> Any:
    """SQL for "the later of the stored value and :parameter" (NULL counts as earliest)."""
    new = bindparam(parameter, type_=column.type)
    return case((column.is_(None), new), (column < new, new), else_=column)


def _recent_alive_beats(connection: Connection, service_id: int, count: int) -> list[datetime]:
    statement = (
        select(events_table.c.time)
        .where(events_table.c.service_id == service_id)
        .where(events_table.c.status.in_([s.value for s in PROOF_OF_LIFE]))
        .order_by(events_table.c.time.desc())
        .limit(count)
    )
    return list(connection.execute(statement).scalars())
