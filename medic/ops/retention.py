"""Heartbeat retention: events older than HEARTBEAT_RETENTION_DAYS are deleted in
small batches, each its own short transaction, so ingest never waits on a long lock."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import text

from medic.db import Database

log = logging.getLogger(__name__)

_DELETE_BATCH = text(
    "DELETE FROM heartbeat_events WHERE heartbeat_id IN ("
    " SELECT heartbeat_id FROM heartbeat_events WHERE time < :cutoff LIMIT :batch)"
)


def purge_heartbeats(db: Database, retention_days: int, now: datetime, batch: int = 5000) -> int:
    """Delete events older than the retention period; returns how many."""
    cutoff = now - timedelta(days=retention_days)
    deleted = 0
    while True:
        with db.session() as session:
            result = session.exec(_DELETE_BATCH.bindparams(cutoff=cutoff, batch=batch))  # type: ignore[call-overload]
            count = result.rowcount
        deleted += count
        if count < batch:
            break
    log.info("retention: deleted %d heartbeat events older than %s", deleted, cutoff.isoformat())
    return deleted
