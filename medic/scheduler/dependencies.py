"""Which services' notifications are held back because a parent they depend on is
down (medic.core.dependencies), read in the scheduler's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import String, cast
from sqlmodel import Session, col, select, update

from medic.core.dependencies import parents_down, suppression_reason
from medic.core.names import name_key
from medic.models import Service


def held_back(
    session: Session,
    children: Iterable[tuple[int, Sequence[str]]],
    overrides: Mapping[str, tuple[str, bool]] | None = None,
) -> dict[int, str]:
    """For each (service id, parent names) whose parent is down, why it is held back.
    `overrides`: name key → (name, down) for services this pass just opened or
    recovered, whose new state is not written yet."""
    wanted = [(service_id, list(parents)) for service_id, parents in children if parents]
    if not wanted:
        return {}
    keys = sorted({name_key(parent) for _, parents in wanted for parent in parents})
    down = {
        key: name
        for key, name, state, active in session.exec(
            select(Service.name_key, Service.heartbeat_name, Service.state, Service.active).where(
                col(Service.name_key).in_(keys)
            )
        ).all()
        if active and state == "down"
    }
    for key, (name, is_down) in (overrides or {}).items():
        if is_down:
            down[key] = name
        else:
            down.pop(key, None)
    reasons = {
        service_id: suppression_reason(parents_down(parents, down))
        for service_id, parents in wanted
    }
    return {service_id: reason for service_id, reason in reasons.items() if reason}


def look_again_at_children(
    session: Session, recovered: Sequence[str], skip: Iterable[int], now: datetime
) -> None:
    """Children still down of parents that just recovered are looked at now, so an alert
    held back for the parent is announced (once). Rows another scheduler holds are
    skipped: it is evaluating them, and a down child is looked at again by its next check."""
    keys = {name_key(name) for name in recovered}
    if not keys:
        return
    skipped = set(skip)
    rows = session.exec(
        select(Service.service_id, Service.depends_on)
        .where(col(Service.active))
        .where(col(Service.state) == "down")
        .where(cast(col(Service.depends_on), String) != "[]")
        .with_for_update(skip_locked=True)
    ).all()
    ids = [
        service_id
        for service_id, parents in rows
        if service_id not in skipped and any(name_key(p) in keys for p in parents or ())
    ]
    if ids:
        session.exec(  # type: ignore[call-overload]
            update(Service).where(col(Service.service_id).in_(ids)).values(check_at=now)
        )
