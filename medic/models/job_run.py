"""One run of a job: STARTED, then COMPLETED or FAILED (SRE-15/16)."""

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, text
from sqlmodel import Field, SQLModel

from medic.models.columns import BIG_ID


class JobRun(SQLModel, table=True):
    __tablename__ = "job_runs"
    __table_args__ = (
        Index("ix_job_runs_service_started", "service_id", "started_at"),
        Index(
            "ix_job_runs_open",
            "service_id",
            postgresql_where=text("finished_at IS NULL"),
            sqlite_where=text("finished_at IS NULL"),
        ),
    )

    run_pk: int | None = Field(
        default=None, sa_type=BIG_ID, primary_key=True, sa_column_kwargs={"autoincrement": True}
    )
    service_id: int = Field(
        sa_column=Column(ForeignKey("services.service_id", ondelete="CASCADE"), nullable=False)
    )
    run_id: str | None = Field(default=None, max_length=255)
    started_at: datetime
    finished_at: datetime | None = None
    # completed | failed | abandoned (a new STARTED of the same run replaced it)
    outcome: str | None = Field(default=None, max_length=16)
    # When the run was reported hung (still running past max_duration).
    timed_out_at: datetime | None = None
