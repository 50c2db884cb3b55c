"""A heartbeat batch on PostgreSQL, straight through psycopg's async connection.

This is the hot path: a few statements per batch with array parameters, so the cost
of a batch barely grows with its size (measured 2-3x faster per batch than the same
work through SQLAlchemy's async `run_sync`). Rows are inserted in ordinality order,
so their new ids ascend in that order.

The statements go in pipeline mode, so a batch of plain beats waits for the database
twice, not once per statement: RESOLVE (its rows are needed to plan the rest), then
INSERT, the services' merge and NOTIFY together. On a busy machine each wait is a
wake-up of the backend and of the writer, and cost more than the statements. Job-run
statements and history reads still wait for their answers.

A batch of plain beats is one implicit transaction: PostgreSQL runs the statements a
pipeline sends before its Sync as one transaction, committed at the Sync (or, after
an error, rolled back there), so no BEGIN or COMMIT is sent: under load each statement
sent is a system call and a wake-up of the backend, and these two do nothing else. A
batch with job-run signals reads each run statement's answer at a Sync of its own,
which would commit early: it sends BEGIN and COMMIT.

Most batches skip RESOLVE: a batch of plain beats for services the writer looked up
before is planned from what it remembers (medic.ingest.known_services) and written in
one statement that checks, with the rows locked, that none of them changed since.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, AsyncCursor, AsyncPipeline
from psycopg.rows import dict_row, tuple_row

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
from medic.ingest.binary_arrays import int4_array, int8_array, text_array, timestamptz_array
from medic.ingest.job_runs import RUN_SIGNALS, RunSignal, for_psycopg, run_changes
from medic.ingest.judgement import alive_counts, history_size
from medic.ingest.known_services import SERVICE_HASH, KnownServices

# Locks the batch's services in id order, the order every writer takes them in, so two
# writers (two API workers) never wait on each other in a circle: no deadlocks. NO KEY
# UPDATE is what the later UPDATE needs and does not block inserts referencing the rows.
# Each way of naming a service is looked up in its own unique index: with the three
# as one OR, the planner scans the whole table (a prepared statement's generic plan
# cannot know two of the arrays are empty), which cost more than the rest of the batch.
# Array parameters go in binary (`%(...)b`): psycopg dumps them several times faster than
# as text, which it scans and quotes element by element.
RESOLVE = f"""
SELECT {", ".join(SERVICE_COLUMNS)}, {SERVICE_HASH} AS hash FROM services
WHERE service_id = ANY(ARRAY(
    SELECT found.service_id FROM unnest(%(names)b::text[]) AS wanted(name_key),
        LATERAL (SELECT service_id FROM services s
                 WHERE s.name_key = wanted.name_key LIMIT 1) AS found
    UNION ALL
    SELECT found.service_id FROM unnest(%(uuids)b::text[]) AS wanted(uuid),
        LATERAL (SELECT service_id FROM services s WHERE s.uuid = wanted.uuid LIMIT 1) AS found
    UNION ALL
    SELECT unnest(%(ids)b::int[])))
ORDER BY service_id
FOR NO KEY UPDATE
"""


def _insert_events(condition: str = "TRUE") -> str:
    return f"""
INSERT INTO heartbeat_events (service_id, time, status, run_id, message)
SELECT service_id, time, status, run_id, message
FROM unnest(%(service_id)b::int[], %(time)b::timestamptz[], %(status)b::text[],
            %(run_id)b::text[], %(message)b::text[])
     WITH ORDINALITY AS batch(service_id, time, status, run_id, message, position)
WHERE {condition}
ORDER BY position
RETURNING heartbeat_id
"""


INSERT_EVENTS = _insert_events()

RECENT_ALIVE_BEATS = """
SELECT recent.service_id, recent.time
FROM unnest(%(sids)b::int[], %(counts)b::int[]) AS wanted(service_id, count)
CROSS JOIN LATERAL (
    SELECT e.service_id, e.time FROM heartbeat_events e
    WHERE e.service_id = wanted.service_id AND e.status = ANY(%(alive)s)
    ORDER BY e.time DESC LIMIT wanted.count
) AS recent
ORDER BY recent.service_id, recent.time DESC
"""


# Later-of for the instants, earlier-of for check_at (GREATEST/LEAST skip NULLs).
# deadline_check_at is left alone once set (the scheduler moves it): so the update
# changes no indexed column, and PostgreSQL makes it a HOT update.
# Proof of life from a service that is down asks the scheduler to confirm the
# recovery at once; this reads the row's state under its lock, so a concurrent
# scheduler pass cannot slip between (and the state RESOLVE read under the same lock is
# the one this sees); so does proof of life from a service counting failures before it
# alerts (its count starts over). Ingest only marks a new service as started. The
# newest failure's reason (too fast, too frequent; NULL for a FAILED) is kept with it.
def _merge_services(condition: str = "TRUE") -> str:
    return f"""
UPDATE services AS s SET
    last_heartbeat_at = GREATEST(s.last_heartbeat_at, batch.last),
    last_alive_at = GREATEST(s.last_alive_at, batch.alive),
    last_failure_at = GREATEST(s.last_failure_at, batch.failed),
    last_failure_reason = CASE
        WHEN batch.failed IS NOT NULL
             AND (s.last_failure_at IS NULL OR batch.failed >= s.last_failure_at)
        THEN batch.reason ELSE s.last_failure_reason END,
    next_due_at = CASE WHEN batch.due IS NULL THEN s.next_due_at
                       ELSE GREATEST(s.next_due_at, batch.due) END,
    deadline_check_at = COALESCE(s.deadline_check_at, LEAST(s.next_due_at, batch.due)),
    check_at = LEAST(s.check_at, batch.check_by,
                     CASE WHEN s.state = 'down' OR s.consecutive_failures > 0
                          THEN batch.alive END),
    state = CASE WHEN batch.alive IS NOT NULL AND s.state = 'new' THEN 'up' ELSE s.state END
FROM unnest(%(sid)b::int[], %(last)b::timestamptz[], %(alive)b::timestamptz[],
            %(failed)b::timestamptz[], %(due)b::timestamptz[], %(check_by)b::timestamptz[],
            %(reason)b::text[])
     AS batch(sid, last, alive, failed, due, check_by, reason)
WHERE s.service_id = batch.sid AND {condition}
"""


MERGE_SERVICES = _merge_services()

WAKE_SCHEDULERS = "SELECT pg_notify('medic_scheduler', '')"

# A batch whose services the writer knows (medic.ingest.known_services), in one
# statement: the rows are locked in id order as RESOLVE locks them, and the events and
# the services' merge are written only if every row is there and hashes as the writer
# planned with; otherwise nothing is written and no heartbeat id comes back. Only
# data-modifying CTEs run whether or not they are read; `unchanged`, read as an
# InitPlan by both, runs (and locks) before either writes. A batch that asks the
# scheduler to look now notifies in the same transaction (the row without an id).
KNOWN_BATCH = f"""
WITH locked AS (
    SELECT service_id, {SERVICE_HASH} AS hash FROM services
    WHERE service_id = ANY(%(known_ids)b::int[])
    ORDER BY service_id
    FOR NO KEY UPDATE
),
unchanged AS (
    SELECT count(*) = cardinality(%(known_ids)b::int[]) AS ok
    FROM locked
    JOIN unnest(%(known_ids)b::int[], %(known_hashes)b::int8[]) AS known(service_id, hash)
        USING (service_id)
    WHERE locked.hash = known.hash
),
inserted AS ({_insert_events("(SELECT ok FROM unchanged)")}),
merged AS ({_merge_services("(SELECT ok FROM unchanged)")})
SELECT heartbeat_id FROM inserted
UNION ALL
SELECT NULL FROM ({WAKE_SCHEDULERS}) AS woken
WHERE %(wake)s AND (SELECT ok FROM unchanged)
"""

ALIVE = [status.value for status in PROOF_OF_LIFE]


async def connect(conninfo: str) -> AsyncConnection:
    """The writer's connection. Autocommit: a batch makes its own transaction (see
    write_batch). Generic plans only: psycopg prepares each statement after a few runs,
    and PostgreSQL then keeps planning KNOWN_BATCH afresh for every batch (its generic
    plan's estimate looks dearer), which measured 0.3-0.4 ms a batch; the generic plans
    of these statements use the same indexes (checked with EXPLAIN)."""
    connection = await AsyncConnection.connect(
        conninfo, connect_timeout=5, autocommit=True, client_encoding="UTF8"
    )
    await connection.execute("SET plan_cache_mode = force_generic_plan")
    return connection


async def write_batch(
    connection: AsyncConnection,
    requests: list[BeatRequest],
    default_timezone: str,
    known: KnownServices | None = None,
) -> tuple[list[Outcome], bool]:
    """Write one batch in one transaction: one outcome per request, in order, and
    whether the scheduler was asked to look now (NOTIFY, sent at commit). With `known`,
    a batch of plain beats for services in it is written in one round trip (see
    _write_known); every batch written the long way refreshes it.

    The connection is in autocommit mode, so psycopg sends no BEGIN of its own (its
    transaction handling would wait for the database at BEGIN, and again on entering
    and leaving a transaction block). The pipeline's closing Sync returns (or raises)
    the commit's result: the outcomes are built only after the commit succeeded."""
    assert connection.autocommit, "the batch makes its own transaction"
    if known is not None:
        written = await _write_known(connection, requests, default_timezone, known)
        if written is not None:
            return written
    names, uuids, ids = lookups(requests)
    explicit = any(request.status in RUN_SIGNALS for request in requests)
    async with connection.pipeline() as pipeline:
        cursor = connection.cursor(row_factory=dict_row)
        if explicit:
            await cursor.execute("BEGIN")
        await cursor.execute(
            RESOLVE,
            {"names": text_array(names), "uuids": text_array(uuids), "ids": int4_array(ids)},
        )
        found = await cursor.fetchall()
        services = FoundServices(found)
        outcomes, rows = plan(requests, services)
        starts: dict[int, datetime] = {}
        signals = await _apply_runs(pipeline, cursor, rows, starts)
        stored = stored_rows(rows, signals)
        wake = False
        heartbeat_ids: list[int] = []
        inserted = connection.cursor(row_factory=dict_row)
        if stored:
            await inserted.execute(INSERT_EVENTS, _columns(stored, EVENT_ENCODINGS))
            by_id = services.by_id
            history = await _history(cursor, by_id, stored)
            run_starts = stored_starts(signals, starts)
            # RESOLVE read the states under the rows' locks: still theirs.
            updates, wake = merge_plan(by_id, stored, run_starts, history, default_timezone)
            await cursor.execute(MERGE_SERVICES, _columns(updates, UPDATE_ENCODINGS))
            if wake:
                await cursor.execute(WAKE_SCHEDULERS)
        if explicit:
            await cursor.execute("COMMIT")
    if stored:
        heartbeat_ids = sorted(row["heartbeat_id"] for row in await inserted.fetchall())
    if known is not None:
        known.remember(found)
    return results(requests, outcomes, heartbeat_ids, rows, services, signals), wake


async def _write_known(
    connection: AsyncConnection,
    requests: list[BeatRequest],
    default_timezone: str,
    known: KnownServices,
) -> tuple[list[Outcome], bool] | None:
    """The batch in one statement (KNOWN_BATCH), planned from the services the writer
    knows; None if it is not such a batch or a service changed since (then nothing was
    written, and the caller writes it the long way).

    Only plain beats for services whose schedule looks at the newest beat alone: job-run
    signals and history reads need answers between statements. This skips RESOLVE's
    round trip and reading its rows back, which measured more than half of a batch, and
    a pipeline's extra messages (a Sync, then a Flush): one statement in autocommit mode
    measured 15-25% less CPU per batch than the same in a pipeline."""
    if any(request.status in RUN_SIGNALS for request in requests):
        return None
    services = known.find(requests)
    if services is None:
        return None
    by_id = services.by_id
    if any(needs_history(service) for service in by_id.values()):
        return None
    outcomes, rows = plan(requests, services)
    if not rows:
        return None
    # The states KNOWN_BATCH finds unchanged under the rows' locks.
    updates, wake = merge_plan(by_id, rows, [None] * len(rows), {}, default_timezone)
    ids = sorted(by_id)
    params = {
        "wake": wake,
        "known_ids": int4_array(ids),
        "known_hashes": int8_array([by_id[sid]["hash"] for sid in ids]),
        **_columns(rows, EVENT_ENCODINGS),
        **_columns(updates, UPDATE_ENCODINGS),
    }
    # In autocommit mode one statement is one transaction: one message out, one answer.
    cursor = await connection.cursor(row_factory=tuple_row).execute(KNOWN_BATCH, params)
    returned = await cursor.fetchall()
    heartbeat_ids = sorted(heartbeat_id for (heartbeat_id,) in returned if heartbeat_id is not None)
    if len(heartbeat_ids) != len(rows):
        known.forget(ids)
        return None
    return results(requests, outcomes, heartbeat_ids, rows, services), wake


async def _apply_runs(
    pipeline: AsyncPipeline,
    cursor: AsyncCursor[dict[str, Any]],
    rows: list[dict[str, Any]],
    starts: dict[int, datetime],
) -> list[RunSignal | None]:
    """Drive medic.ingest.job_runs.run_changes: run each statement, send its rows back
    (in pipeline mode a statement's result, and whether it has rows, comes at a sync)."""
    changes = run_changes(rows, starts)
    try:
        statement, params = next(changes)
        while True:
            await cursor.execute(for_psycopg(statement), params)
            await pipeline.sync()
            returned = await cursor.fetchall() if cursor.description is not None else []
            statement, params = changes.send(returned)
    except StopIteration as done:
        return done.value


async def _history(
    cursor: AsyncCursor[dict[str, Any]],
    by_id: Mapping[int, Mapping[str, Any]],
    rows: list[dict[str, Any]],
) -> dict[int, list[datetime]]:
    """Recent proof-of-life beats of the services whose schedule looks further back."""
    alive = newest_beats(rows)["alive"]
    wanted = [sid for sid in alive if needs_history(by_id[sid])]
    history: dict[int, list[datetime]] = {sid: [] for sid in wanted}
    if wanted:
        in_batch = alive_counts(rows)
        counts = [history_size(by_id[sid], in_batch.get(sid, 0)) for sid in wanted]
        params = {"sids": int4_array(wanted), "counts": int4_array(counts), "alive": ALIVE}
        await cursor.execute(RECENT_ALIVE_BEATS, params)
        for row in await cursor.fetchall():
            history[row["service_id"]].append(row["time"])
    return history


Encoding = Callable[[list[Any]], bytes]
# The columns of an event row (medic.ingest.batch.plan) and of a service update
# (service_updates), as INSERT_EVENTS and _merge_services unnest them: each sent as one
# binary array of its PostgreSQL type (medic.ingest.binary_arrays).
EVENT_ENCODINGS: dict[str, Encoding] = {
    "service_id": int4_array,
    "time": timestamptz_array,
    "status": text_array,
    "run_id": text_array,
    "message": text_array,
}
UPDATE_ENCODINGS: dict[str, Encoding] = {
    "sid": int4_array,
    "last": timestamptz_array,
    "alive": timestamptz_array,
    "failed": timestamptz_array,
    "due": timestamptz_array,
    "check_by": timestamptz_array,
    "reason": text_array,
}


def _columns(rows: list[dict[str, Any]], encodings: dict[str, Encoding]) -> dict[str, bytes]:
    return {name: encode([row[name] for row in rows]) for name, encode in encodings.items()}
