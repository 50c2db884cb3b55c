"""The notification outbox: every event that may reach a person, committed with the
state change that caused it, and delivered from here (at least once, idempotently)."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, text
from sqlmodel import Field, SQLModel

from medic.models.columns import BIG_ID, JSON_DOCUMENT, NEVER_REUSE_IDS, utcnow

KINDS = (
    "alert.opened",
    "alert.resolved",
    # An open alert nobody acknowledged, sent again (medic.scheduler.reminders).
    "alert.repeated",
    "maintenance.started",
    "maintenance.ended",
    "execution.approval_requested",
    # The request stopped waiting: its Slack message is edited (medic.ops.approval_requests).
    "execution.approval_closed",
    "execution.refused",
    "execution.failed",
    "execution.escalated",
    # A host's agent refused a script its allow-list does not have (medic.ops.agents).
    "agent.script_skipped",
)


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        Index(
            "ix_notifications_undelivered",
            "notification_id",
            postgresql_where=text("delivered_at IS NULL AND suppressed_by IS NULL"),
            sqlite_where=text("delivered_at IS NULL AND suppressed_by IS NULL"),
        ),
        Index("ix_notifications_service", "service_id", "created_at"),
        NEVER_REUSE_IDS,
    )

    notification_id: int | None = Field(
        default=None, sa_type=BIG_ID, primary_key=True, sa_column_kwargs={"autoincrement": True}
    )
    kind: str = Field(max_length=32)
    service_id: int | None = Field(
        default=None,
        sa_column=Column(ForeignKey("services.service_id", ondelete="CASCADE"), nullable=True),
    )
    alert_id: int | None = Field(
        default=None,
        sa_column=Column(ForeignKey("alerts.alert_id", ondelete="SET NULL"), nullable=True),
    )
    window_id: int | None = Field(
        default=None,
        sa_column=Column(
            ForeignKey("maintenance_windows.window_id", ondelete="SET NULL"), nullable=True
        ),
    )
    created_at: datetime = Field(default_factory=utcnow)
    # Why nobody is told (a mute, a maintenance window); recorded, never delivered.
    suppressed_by: str | None = Field(default=None, max_length=255)
    enqueued_at: datetime | None = None
    # When to send again if still undelivered (the message may have been lost).
    resend_at: datetime | None = None
    delivered_at: datetime | None = None
    attempts: int = 0
    details: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON_DOCUMENT, nullable=False)
    )
