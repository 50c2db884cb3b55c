"""Nagging state: for each target an open alert repeats to, when it was last sent and
when it is next due. Written when the alert's opening is routed (medic.notify.planning);
claimed by a conditional UPDATE on `next_at` (medic.scheduler.reminders), so however
many schedulers run, each reminder goes out once."""

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from medic.models.columns import NEVER_REUSE_IDS


class AlertReminder(SQLModel, table=True):
    __tablename__ = "alert_reminders"
    __table_args__ = (
        UniqueConstraint("alert_id", "target_name", name="uq_alert_reminders_target"),
        Index("ix_alert_reminders_next_at", "next_at"),
        NEVER_REUSE_IDS,
    )

    reminder_id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(
        sa_column=Column(ForeignKey("alerts.alert_id", ondelete="CASCADE"), nullable=False)
    )
    target_name: str = Field(max_length=255)
    repeat_every_seconds: int
    next_at: datetime
    last_sent_at: datetime | None = None
    sent_count: int = 0
