"""Reading the audit log (admin): query it newest first, or export it oldest first as
JSON or CSV. Writing it is medic.ops.audit.record, inside each operation's transaction."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlmodel import col, select

from medic.core.spreadsheet import inert_cell
from medic.models import AuditEntry
from medic.ops.actor import FrontDoor
from medic.ops.fields import InstantBound
from medic.ops.operation import Call, Command, operation
from medic.ops.pagination import fetch_page

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


class AuditEntryView(BaseModel):
    """Who did what, through which front door, to what; `outcome` success or refused."""

    audit_id: int
    at: datetime
    actor: str
    front_door: str
    action: str
    target_type: str | None
    target_id: str | None
    outcome: str
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryView:
        return cls.model_validate(entry.model_dump())


class AuditQuery(Command):
    """Which entries: every given field must match; `since` inclusive, `until` exclusive."""

    action: str | None = None
    actor_name: str | None = None
    front_door: FrontDoor | None = None
    target_type: str | None = None
    target_id: str | None = None
    outcome: str | None = None
    since: InstantBound | None = None
    until: InstantBound | None = None

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


class ListEntries(AuditQuery):
    limit: int | None = Field(default=100, ge=0, le=1000)
    offset: int = Field(default=0, ge=0, le=2**62)


class ExportEntries(AuditQuery):
    file_format: Literal["json", "csv"] = "json"


@operation("audit.list", scope="admin")
def list_entries(call: Call, query: ListEntries) -> tuple[list[AuditEntryView], int]:
    """Newest first."""
    rows, total = fetch_page(
        call.session,
        query.apply(select(AuditEntry)),
        [col(AuditEntry.audit_id).desc()],
        query.limit,
        query.offset,
    )
    return [AuditEntryView.of(row) for row in rows], total


@operation("audit.export", scope="admin")
def export_entries(call: Call, query: ExportEntries) -> str:
    """The matching entries, oldest first, as JSON (a list) or CSV (details as JSON,
    every cell inert in a spreadsheet: medic.core.spreadsheet); at most MAX_EXPORT_ROWS:
    narrow with `since`/`until` for more."""
    statement = query.apply(select(AuditEntry)).order_by(col(AuditEntry.audit_id))
    rows = [
        {
            **entry.model_dump(include=set(EXPORT_COLUMNS)),
            "at": entry.at.isoformat(),
        }
        for entry in call.session.exec(statement.limit(MAX_EXPORT_ROWS)).all()
    ]
    if query.file_format == "json":
        return json.dumps(rows, indent=1, default=str)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for row in rows:
        cells = {**row, "details": json.dumps(row["details"], sort_keys=True)}
        writer.writerow({name: inert_cell(value) for name, value in cells.items()})
    return buffer.getvalue()
