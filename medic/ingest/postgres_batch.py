"""A heartbeat batch on PostgreSQL, straight through psycopg's async connection.

This is the hot path: a few statements per batch with array parameters, so the cost
of a batch barely grows with its size (measured 2-3x faster per batch than the same
work through SQLAlchemy's async `run_sync`). Rows are inserted in ordinality order,
so their new ids ascend in that order.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import dict_row

from medic.core.statuses import PROOF_OF_LIFE
from medic.ingest.batch import (
    EVENT_COLUMNS,
    SERVICE_COLUMNS,
    UPDATE_COLUMNS,
    BeatRequest,
    Outcome,
    index_services,
    lookups,
    needs_history,
    newest_beats,
    plan,
    results,
    service_updates,
    wakes_scheduler,
)
from medic.ingest.job_runs import for_psycopg, run_statements

# Locks the batch's services in id order, the order every writer takes them in, so two
# writers (two API workers) never wait on each other in a circle: no deadlocks. NO KEY
# UPDATE is what the later UPDATE needs and does not block inserts referencing the rows.
RESOLVE = f"""
SELECT {", ".join(SERVICE_COLUMNS)} FROM services
WHERE name_key = ANY(%(names)s) OR uuid = ANY(%(uuids)s) OR service_id = ANY(%(ids)s)
ORDER BY service_id
FOR NO KEY UPDATE
"""

INSERT_EVENTS = """
INSERT INTO heartbeat_events (service_id, time, status, run_id, message)
SELECT service_id, time, status, run_id, message
FROM unnest(%(service_id)s::int[], %(time)s::timestamptz[], %(status)s::text[],
            %(run_id)s::text[], %(message)s::text[])
     WITH ORDINALITY AS batch(service_id, time, status, run_id, message, position)
ORDER BY position
RETURNING heartbeat_id
"""

RECENT_ALIVE_BEATS = """
SELECT recent.service_id, recent.time
FROM unnest(%(sids)s::int[], %(counts)s::int[]) AS wanted(service_id, count)
CROSS JOIN LATERAL (
    SELECT e.service_id, e.time FROM heartbeat_events e
    WHERE e.service_id = wanted.service_id AND e.status = ANY(%(alive)s)
    ORDER BY e.time DESC LIMIT wanted.count
) AS recent
ORDER BY recent.service_id, recent.time DESC
"""

# Later-of for the instants, earlier-of for check_at (GREATEST/LEAST skip NULLs).
# Proof of life from a service that is down asks the scheduler to confirm the
# recovery at once; this reads the row's state under its lock, so a concurrent
# scheduler pass cannot slip between. Ingest only marks a new service as started.
MERGE_SERVICES = """
UPDATE services AS s SET
    last_heartbeat_at = GREATEST(s.last_heartbeat_at, batch.last),
    last_alive_at = GREATEST(s.last_alive_at, batch.alive),
    last_failure_at = GREATEST(s.last_failure_at, batch.failed),
    next_due_at = CASE WHEN batch.due IS NULL THEN s.next_due_at
                       ELSE GREATEST(s.next_due_at, batch.due) END,
    check_at = LEAST(s.check_at, batch.check_by,
                     CASE WHEN s.state = 'down' THEN batch.alive END),
    state = CASE WHEN batch.alive IS NOT NULL AND s.state = 'new' THEN 'up' ELSE s.state END
FROM unnest(%(sid)s::int[], %(last)s::timestamptz[], %(alive)s::timestamptz[],
            %(failed)s::timestamptz[], %(due)s::timestamptz[], %(check_by)s::timestamptz[])
     AS batch(sid, last, alive, failed, due, check_by)
WHERE s.service_id = batch.sid
RETURNING s.service_id, s.state
"""

WAKE_SCHEDULERS = "SELECT pg_notify('medic_scheduler', '')"

ALIVE = [status.value for status in PROOF_OF_LIFE]


async def write_batch(
    connection: AsyncConnection, requests: list[BeatRequest], default_timezone: str
) -> tuple[list[Outcome], bool]:
    """Write one batch in one transaction: one outcome per request, in order, and
    whether the scheduler was asked to look now (NOTIFY, sent at commit)."""
    names, uuids, ids = lookups(requests)
    async with connection.transaction(), connection.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(RESOLVE, {"names": names, "uuids": uuids, "ids": ids})
        services = index_services(await cursor.fetchall())
        outcomes, rows = plan(requests, services)
        if not rows:
            return results(requests, outcomes, [], rows, services), False
        await cursor.execute(INSERT_EVENTS, _columns(rows, EVENT_COLUMNS))
        heartbeat_ids = sorted(row["heartbeat_id"] for row in await cursor.fetchall())
        by_id = {s["service_id"]: s for s in services.values()}
        history = await _history(cursor, by_id, rows)
        for statement, params in run_statements(rows):
            await cursor.execute(for_psycopg(statement), params)
        updates = service_updates(by_id, rows, default_timezone, history)
        await cursor.execute(MERGE_SERVICES, _columns(updates, UPDATE_COLUMNS))
        states = {row["service_id"]: row["state"] for row in await cursor.fetchall()}
        wake = wakes_scheduler(updates, states)
        if wake:
            await cursor.execute(WAKE_SCHEDULERS)
    return results(requests, outcomes, heartbeat_ids, rows, services), wake


async def _history(
    cursor: AsyncCursor[dict[str, Any]],
    by_id: Mapping[int, Mapping[str, Any]],
    rows: list[dict[str, Any]],
) -> dict[int, list[datetime]]:
    """Recent proof-of-life beats of the services whose schedule looks further back."""
    wanted = [sid for sid in newest_beats(rows)["alive"] if needs_history(by_id[sid])]
    history: dict[int, list[datetime]] = {sid: [] for sid in wanted}
    if wanted:
        counts = [by_id[sid]["threshold"] for sid in wanted]
        await cursor.execute(RECENT_ALIVE_BEATS, {"sids": wanted, "counts": counts, "alive": ALIVE})
        for row in await cursor.fetchall():
            history[row["service_id"]].append(row["time"])
    return history


def _columns(rows: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, list[Any]]:
    return {name: [row[name] for row in rows] for name in names}
