"""Retention: heartbeat events older than HEARTBEAT_RETENTION_DAYS and audit entries
older than MEDIC_AUDIT_RETENTION_DAYS are deleted in small batches, each its own short
transaction, so ingest never waits on a long lock."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import text

from medic.db import Database

log = logging.getLogger(__name__)

# (table, id column, time column): fixed names, never user input.
HEARTBEAT_EVENTS = ("heartbeat_events", "heartbeat_id", "time")
AUDIT_LOG = ("audit_log", "audit_id", "at")


def purge_heartbeats(db: Database, retention_days: int, now: datetime, batch: int = 5000) -> int:
    """Delete events older than the retention period; returns how many."""
    return _purge(db, HEARTBEAT_EVENTS, now - timedelta(days=retention_days), batch)


def purge_audit_log(db: Database, retention_days: int, now: datetime, batch: int = 5000) -> int:
    return _purge(db, AUDIT_LOG, now - timedelta(days=retention_days), batch)


def _purge(db: Database, table: tuple[str, str, str], cutoff: datetime, batch: int) -> int:
    name, id_column, time_column = table
    statement = text(
        f"DELETE FROM {name} WHERE {id_column} IN ("
        f" SELECT {id_column} FROM {name} WHERE {time_column} < :cutoff LIMIT :batch)"
    )
    deleted = 0
    while True:
        with db.session() as session:
            result = session.exec(statement.bindparams(cutoff=cutoff, batch=batch))  # type: ignore[call-overload]
            count = result.rowcount
        deleted += count
        if count < batch:
            break
    log.info("retention: deleted %d rows of %s older than %s", deleted, name, cutoff.isoformat())
    return deleted
