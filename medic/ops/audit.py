"""Writing and reading the audit log. Writes join the caller's transaction, so an action
and its audit entry are committed together or not at all."""

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from medic.db import Database
from medic.models import AuditEntry
from medic.ops.actor import Actor
from medic.ops.paging import fetch_page


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str | None = None,
    target_id: object = None,
    outcome: str = "success",
    **details: Any,
) -> AuditEntry:
    entry = AuditEntry(
        actor=actor.name,
        front_door=actor.front_door,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        outcome=outcome,
        details=details,
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor_name: str | None = None
    front_door: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, statement: Any) -> Any:
        for column, value in (
            (AuditEntry.action, self.action),
            (AuditEntry.actor, self.actor_name),
            (AuditEntry.front_door, self.front_door),
            (AuditEntry.target_type, self.target_type),
            (AuditEntry.target_id, self.target_id),
            (AuditEntry.outcome, self.outcome),
        ):
            if value:
                statement = statement.where(column == value)
        if self.since is not None:
            statement = statement.where(col(AuditEntry.at) >= self.since)
        if self.until is not None:
            statement = statement.where(col(AuditEntry.at) < self.until)
        return statement


def list_entries(
    db: Database,
    reader: Actor,
    where: AuditFilter | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """Newest first."""
    reader.require("admin")
    statement = (where or AuditFilter()).apply(select(AuditEntry))
    with db.session() as session:
        return fetch_page(session, statement, [col(AuditEntry.audit_id).desc()], limit, offset)


EXPORT_COLUMNS = (
    "audit_id",
    "at",
    "actor",
    "front_door",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "details",
)
MAX_EXPORT_ROWS = 100_000


def export_entries(db: Database, reader: Actor, where: AuditFilter, file_format: str) -> str:
    """The matching entries, oldest first, as JSON (a list) or CSV (details as JSON);
    at most MAX_EXPORT_ROWS: narrow with `since`/`until` for more."""
    reader.require("admin")
    statement = where.apply(select(AuditEntry)).order_by(col(AuditEntry.audit_id))
    with db.session() as session:
        rows = [
            {
                **entry.model_dump(include=set(EXPORT_COLUMNS)),
                "at": entry.at.isoformat(),
            }
            for entry in session.exec(statement.limit(MAX_EXPORT_ROWS)).all()
        ]
    if file_format == "json":
        return json.dumps(rows, indent=1, default=str)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "details": json.dumps(row["details"], sort_keys=True)})
    return buffer.getvalue()
