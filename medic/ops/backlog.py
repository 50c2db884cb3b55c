"""The scheduler's backlog, read from the database: the oldest deadline or check that is
due and not yet evaluated. Any process can read it (the API exports it at scrape time),
so a stalled scheduler shows even where the scheduler's own process is not scraped."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, func, select

from medic.db import Database
from medic.models import Service


def oldest_overdue(db: Database, now: datetime) -> datetime | None:
    """The earliest instant, at or before `now`, that a running scheduler would already
    have handled (the same two conditions its claim query uses, on the same indexes)."""
    with db.session() as session:
        instants = [
            session.exec(
                select(func.min(Service.next_due_at))
                .where(col(Service.active))
                .where(col(Service.state) != "down")
                .where(col(Service.next_due_at) <= now)
            ).one(),
            session.exec(
                select(func.min(Service.check_at))
                .where(col(Service.active))
                .where(col(Service.check_at) <= now)
            ).one(),
        ]
    return min((i for i in instants if i is not None), default=None)
