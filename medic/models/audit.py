"""The audit log: who did what, through which front door, and how it ended."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from medic.models.columns import BIG_ID, JSON_DOCUMENT, NEVER_REUSE_IDS, utcnow


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_action", "action"),
        Index("ix_audit_log_target", "target_type", "target_id"),
        NEVER_REUSE_IDS,
    )

    audit_id: int | None = Field(
        default=None, sa_type=BIG_ID, primary_key=True, sa_column_kwargs={"autoincrement": True}
    )
    at: datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=255)
    front_door: str = Field(max_length=16)
    action: str = Field(max_length=64)
    target_type: str | None = Field(default=None, max_length=32)
    target_id: str | None = Field(default=None, max_length=255)
    outcome: str = Field(default="success", max_length=16)
    details: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON_DOCUMENT, nullable=False)
    )
