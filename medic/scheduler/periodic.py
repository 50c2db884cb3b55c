"""Periodic housekeeping the scheduler triggers: one row per job in `periodic_jobs`,
claimed with SKIP LOCKED when due, so however many schedulers run, each due time
triggers the job once. The job itself runs on a worker (medic.actors)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from medic.core.schedules import next_cron_fire
from medic.db import Database
from medic.models import PeriodicJob

RETENTION = "heartbeat-retention"
AUDIT_RETENTION = "audit-retention"


def claim_due_jobs(
    db: Database, schedules: dict[str, str], timezone: str, now: datetime
) -> list[str]:
    """Names of the jobs due now; each is moved to its next cron fire time."""
    _ensure_rows(db, schedules, timezone, now)
    with db.session() as session:
        due = session.exec(
            select(PeriodicJob)
            .where(col(PeriodicJob.name).in_(list(schedules)))
            .where(PeriodicJob.next_run_at <= now)
            .with_for_update(skip_locked=True)
        ).all()
        for job in due:
            job.last_run_at = now
            job.next_run_at = next_cron_fire(schedules[job.name], timezone, now)
            session.add(job)
        return [job.name for job in due]


def _ensure_rows(db: Database, schedules: dict[str, str], timezone: str, now: datetime) -> None:
    with db.session() as session:
        known = set(session.exec(select(PeriodicJob.name)).all())
    for name, expression in schedules.items():
        if name in known:
            continue
        try:
            with db.session() as session:
                session.add(
                    PeriodicJob(name=name, next_run_at=next_cron_fire(expression, timezone, now))
                )
        except IntegrityError:
            pass  # another scheduler created it first
