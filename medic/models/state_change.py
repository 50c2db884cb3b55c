"""A service's history: when it went down or came back, and why."""

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index
from sqlmodel import Field, SQLModel

from medic.models.columns import BIG_ID, utcnow


class StateChange(SQLModel, table=True):
    __tablename__ = "service_state_changes"
    __table_args__ = (Index("ix_service_state_changes_service_at", "service_id", "at"),)

    change_id: int | None = Field(
        default=None, sa_type=BIG_ID, primary_key=True, sa_column_kwargs={"autoincrement": True}
    )
    service_id: int = Field(
        sa_column=Column(ForeignKey("services.service_id", ondelete="CASCADE"), nullable=False)
    )
    at: datetime = Field(default_factory=utcnow)
    from_state: str = Field(max_length=16)
    to_state: str = Field(max_length=16)
    reason: str = Field(max_length=1000)
    alert_id: int | None = None
