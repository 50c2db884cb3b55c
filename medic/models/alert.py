"""An incident on a service, open (`active`) until the service recovers."""

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, text
from sqlmodel import Field, SQLModel

from medic.models.columns import NEVER_REUSE_IDS, utcnow


class Alert(SQLModel, table=True):
    __tablename__ = "alerts"
    # The database, not only the code, guarantees one open alert per service.
    __table_args__ = (
        Index(
            "uq_alerts_one_open_per_service",
            "service_id",
            unique=True,
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
        Index("ix_alerts_created_date", "created_date"),
        NEVER_REUSE_IDS,
    )

    alert_id: int | None = Field(default=None, primary_key=True)
    alert_name: str | None = Field(default=None, max_length=512)
    service_id: int = Field(
        sa_column=Column(ForeignKey("services.service_id", ondelete="CASCADE"), nullable=False)
    )
    active: bool = True
    external_reference_id: str | None = Field(default=None, max_length=255)
    alert_cycle: int = 1
    created_date: datetime = Field(default_factory=utcnow)
    closed_date: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = Field(default=None, max_length=255)
    # Why its opening was recorded but not sent (a mute, a maintenance window, a parent
    # that is down); cleared when it is announced after all.
    suppressed_by: str | None = Field(default=None, max_length=255)
