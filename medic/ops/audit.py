"""Writing and reading the audit log. Writes join the caller's transaction, so an action
and its audit entry are committed together or not at all."""

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


def list_entries(
    db: Database,
    reader: Actor,
    *,
    action: str | None = None,
    actor_name: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    reader.require("admin")
    statement = select(AuditEntry)
    if action:
        statement = statement.where(AuditEntry.action == action)
    if actor_name:
        statement = statement.where(AuditEntry.actor == actor_name)
    if target_type:
        statement = statement.where(AuditEntry.target_type == target_type)
    if target_id:
        statement = statement.where(AuditEntry.target_id == target_id)
    with db.session() as session:
        return fetch_page(session, statement, [col(AuditEntry.audit_id).desc()], limit, offset)
