"""Writing the audit log. An entry joins the caller's transaction, so an action and its
entry are committed together or not at all. Reading it: medic.ops.audit_log."""

from typing import Any

from sqlmodel import Session

from medic.models import AuditEntry
from medic.ops.actor import Actor


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
