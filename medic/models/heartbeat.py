"""One heartbeat as received: the service, when, which status, and the run it belongs to.

No foreign key to services: the writer stores a heartbeat only while it holds its
service's row locked, and deleting a service deletes its heartbeats under that lock
(migration 0016 says what the key's per-row check cost)."""

from datetime import datetime

from sqlalchemy import Column, Index, Integer, Text
from sqlmodel import Field, SQLModel

from medic.models.columns import BIG_ID, utcnow


class HeartbeatEvent(SQLModel, table=True):
    __tablename__ = "heartbeat_events"
    __table_args__ = (
        Index("ix_heartbeat_events_service_time", "service_id", "time"),
        Index("ix_heartbeat_events_time", "time"),
        Index("ix_heartbeat_events_service_run", "service_id", "run_id"),
    )

    heartbeat_id: int | None = Field(
        default=None, sa_type=BIG_ID, primary_key=True, sa_column_kwargs={"autoincrement": True}
    )
    service_id: int = Field(sa_column=Column(Integer, nullable=False))
    time: datetime = Field(default_factory=utcnow)
    status: str = Field(max_length=16)
    run_id: str | None = Field(default=None, max_length=255)
    message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
