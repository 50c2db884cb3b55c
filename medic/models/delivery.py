"""One notification delivered to one target, and every attempt at it."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from medic.models.columns import BIG_ID, JSON_DOCUMENT, NEVER_REUSE_IDS, utcnow

# pending: to send now or at next_attempt_at; standby: a later first_success target,
# sent only if the ones before it fail; sent | failed | skipped are final.
DELIVERY_STATUSES = ("pending", "standby", "sent", "failed", "skipped")


class Delivery(SQLModel, table=True):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "target_name", name="uq_deliveries_target"),
        Index("ix_deliveries_alert", "alert_id"),
        Index(
            "ix_deliveries_pending",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        NEVER_REUSE_IDS,
    )

    delivery_id: int | None = Field(
        default=None, sa_type=BIG_ID, primary_key=True, sa_column_kwargs={"autoincrement": True}
    )
    notification_id: int = Field(
        sa_column=Column(
            BIG_ID,
            ForeignKey("notifications.notification_id", ondelete="CASCADE"),
            nullable=False,
        )
    )
    alert_id: int | None = Field(
        default=None,
        sa_column=Column(ForeignKey("alerts.alert_id", ondelete="SET NULL"), nullable=True),
    )
    kind: str = Field(max_length=32, description="the notification's kind, e.g. alert.opened")
    target_name: str = Field(max_length=255)
    target_kind: str = Field(max_length=16)
    target_config: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON_DOCUMENT, nullable=False)
    )
    position: int = 0
    mode: str = Field(default="all", max_length=16)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # What the receiver gave back that later messages need: Slack channel and ts (to
    # edit the alert message on recovery), the PagerDuty dedup_key.
    reference: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON_DOCUMENT, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "delivery_attempts"

    attempt_id: int | None = Field(
        default=None, sa_type=BIG_ID, primary_key=True, sa_column_kwargs={"autoincrement": True}
    )
    delivery_id: int = Field(
        sa_column=Column(
            BIG_ID,
            ForeignKey("deliveries.delivery_id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    attempt: int
    attempted_at: datetime = Field(default_factory=utcnow)
    succeeded: bool
    status_code: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    duration_ms: float = 0
