"""A monitored service: one heartbeat name, its schedule and its current state."""

import uuid as uuid_module
from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from medic.models.columns import utcnow


class Service(SQLModel, table=True):
    __tablename__ = "services"
    __table_args__ = (Index("ix_services_next_due_at", "next_due_at"),)

    service_id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(
        default_factory=lambda: str(uuid_module.uuid4()), max_length=36, unique=True, index=True
    )
    heartbeat_name: str = Field(max_length=255)
    # Lower-cased heartbeat_name: names match case-insensitively, so they are unique that way.
    name_key: str = Field(max_length=255, unique=True, index=True)
    service_name: str | None = Field(default=None, max_length=255)
    active: bool = True
    alert_interval: int = Field(description="minutes")
    threshold: int = 1
    team: str = Field(default="site-reliability", max_length=255)
    priority: str = Field(default="p3", max_length=8)
    runbook: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    muted: bool = False
    down: bool = False
    date_added: datetime = Field(default_factory=utcnow)
    date_modified: datetime = Field(default_factory=utcnow)
    date_muted: datetime | None = None

    schedule_type: str = Field(default="interval", max_length=16)
    cron_expression: str | None = Field(default=None, max_length=255)
    timezone: str | None = Field(default=None, max_length=64)
    grace_period_seconds: int = 0
    max_duration_seconds: int | None = None

    state: str = Field(default="new", max_length=16)
    next_due_at: datetime | None = None
    last_heartbeat_at: datetime | None = None
    muted_until: datetime | None = None
    mute_reason: str | None = Field(default=None, max_length=1000)
    consecutive_failures: int = 0
