"""Periodic housekeeping (retention): when each job runs next. Any number of
schedulers claim a due row with SKIP LOCKED, so a job runs once per due time."""

from datetime import datetime

from sqlmodel import Field, SQLModel


class PeriodicJob(SQLModel, table=True):
    __tablename__ = "periodic_jobs"

    name: str = Field(primary_key=True, max_length=64)
    next_run_at: datetime
    last_run_at: datetime | None = None
