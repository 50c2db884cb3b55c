"""A maintenance window: one-time (starts_at .. ends_at) or recurring (cron + duration
in an IANA timezone), for listed services or all. It silences notifications, not state."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from medic.models.columns import JSON_DOCUMENT, NEVER_REUSE_IDS, utcnow


class MaintenanceWindow(SQLModel, table=True):
    __tablename__ = "maintenance_windows"
    __table_args__ = (
        Index("ix_maintenance_windows_next_transition", "next_transition_at"),
        NEVER_REUSE_IDS,
    )

    window_id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    reason: str | None = Field(default=None, max_length=1000)
    # Service ids; null means every service.
    service_ids: list[int] | None = Field(
        default=None, sa_column=Column(JSON_DOCUMENT, nullable=True)
    )
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    cron_expression: str | None = Field(default=None, max_length=255)
    duration_minutes: int | None = None
    timezone: str = Field(default="UTC", max_length=64)
    created_by: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
    # Whether the scheduler has announced the current occurrence as started.
    in_progress: bool = False
    next_transition_at: datetime | None = None
    details: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON_DOCUMENT, nullable=False)
    )
