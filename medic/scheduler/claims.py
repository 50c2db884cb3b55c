"""What a scheduler pass claims of a service, and writes back.

The claim is one indexed query (`due_services`); on PostgreSQL it locks the rows
with SKIP LOCKED, so schedulers running at once split the due services between
them. The pass reads plain rows, not ORM objects, and writes every change back in
one statement (medic.scheduler.bulk): a pass over a thousand services stays a few statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select
from sqlmodel import Session, and_, col, or_, select, update

from medic.models import Service
from medic.scheduler.bulk import update_rows

# How far ahead a pass moves the deadline checks that trail their deadlines: far enough
# to gather a burst, short enough that a service beating often is moved about once
# per deadline, not on every pass.
LOOKAHEAD = timedelta(seconds=1)


@dataclass(slots=True)
class ClaimedService:
    """What a pass reads of a claimed service, and changes; written back in one
    statement for the whole batch (medic.scheduler.loop claims the rows)."""

    service_id: int
    heartbeat_name: str
    service_name: str | None
    team: str
    priority: str
    runbook: str | None
    schedule_type: str
    alert_interval: int
    threshold: int
    cron_expression: str | None
    timezone: str | None
    grace_period_seconds: int
    max_duration_seconds: int | None
    next_due_at: datetime | None
    last_alive_at: datetime | None
    last_failure_at: datetime | None
    state: str
    down: bool
    state_changed_at: datetime | None
    state_reason: str | None
    check_at: datetime | None
    consecutive_failures: int
    missed_deadline_at: datetime | None
    muted: bool
    muted_until: datetime | None
    mute_reason: str | None
    alert_after_failures: int
    recover_after_successes: int
    start_grace_seconds: int | None
    last_failure_reason: str | None
    depends_on: list[str]


READ_COLUMNS = tuple(ClaimedService.__slots__)  # type: ignore[attr-defined]
WRITTEN_COLUMNS = (
    "next_due_at",
    "state",
    "down",
    "state_changed_at",
    "state_reason",
    "check_at",
    "consecutive_failures",
    "missed_deadline_at",
    "muted",
    "muted_until",
    "mute_reason",
)


def write_back(session: Session, services: Sequence[ClaimedService]) -> None:
    """The pass's changes; a deadline it has looked at is checked next when it is due."""
    rows = [
        {
            "service_id": s.service_id,
            **{name: getattr(s, name) for name in WRITTEN_COLUMNS},
            "deadline_check_at": s.next_due_at,
        }
        for s in services
    ]
    update_rows(session.connection(), Service.__table__, "service_id", rows)  # type: ignore[attr-defined]


def advance_deadline_checks(session: Session, now: datetime, limit: int) -> int:
    """Move the deadline checks that trail a later deadline up to it: services that beat
    since their check was set are not due, and are not claimed. Those due within
    LOOKAHEAD move too, so a burst of them costs one pass, not a wake-up each. One
    statement for up to `limit` services; returns how many it moved. Rows a writer holds
    are skipped (SKIP LOCKED), not waited for: the next pass moves them."""
    behind = (
        select(col(Service.service_id))
        .where(col(Service.active))
        .where(col(Service.state) != "down")
        .where(col(Service.deadline_check_at) <= now + LOOKAHEAD)
        .where(col(Service.next_due_at) > col(Service.deadline_check_at))
        .limit(limit)
        .with_for_update(skip_locked=True, key_share=True)
    )
    moved = session.exec(  # type: ignore[call-overload]
        update(Service)
        .where(col(Service.service_id).in_(behind.scalar_subquery()))
        .values(deadline_check_at=Service.next_due_at)
    )
    return moved.rowcount


def due_services(now: datetime, limit: int) -> Select:
    """Services whose deadline passed while healthy, or whose check is due. A service
    counting failures before it alerts (pending) is looked at by its check, as one that
    is down: its deadline stays passed, and it must not be claimed on every pass."""
    table = Service.__table__  # type: ignore[attr-defined]
    return (
        select(*(table.c[name] for name in READ_COLUMNS))
        .where(col(Service.active))
        .where(
            or_(
                and_(
                    col(Service.state) != "down",
                    col(Service.deadline_check_at) <= now,
                    col(Service.consecutive_failures) == 0,
                ),
                col(Service.check_at) <= now,
            )
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
