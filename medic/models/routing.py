"""Where notifications go: targets (a Slack channel, a PagerDuty service, a webhook…),
routing policies choosing among them, and working-hours schedules policies refer to."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from medic.models.columns import JSON_DOCUMENT, NEVER_REUSE_IDS, utcnow


class NotificationTarget(SQLModel, table=True):
    __tablename__ = "notification_targets"
    __table_args__ = NEVER_REUSE_IDS

    target_id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255, unique=True)
    # slack | pagerduty | webhook | email | discord | … (medic.core.routing.TARGET_KINDS)
    kind: str = Field(max_length=16)
    config: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON_DOCUMENT, nullable=False)
    )
    enabled: bool = True
    # Send an open, unacknowledged alert again this often (`30m`); a rule's wins.
    repeat_every: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class RoutingPolicy(SQLModel, table=True):
    """Ordered rules; the policy named `default` routes services that name none."""

    __tablename__ = "routing_policies"
    __table_args__ = NEVER_REUSE_IDS

    policy_id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255, unique=True)
    # all: every chosen target; first_success: in order, until one accepts.
    mode: str = Field(default="all", max_length=16)
    rules: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON_DOCUMENT, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class WorkingHours(SQLModel, table=True):
    __tablename__ = "working_hours"
    __table_args__ = NEVER_REUSE_IDS

    working_hours_id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255, unique=True)
    timezone: str = Field(max_length=64)
    days: list[str] = Field(default_factory=list, sa_column=Column(JSON_DOCUMENT, nullable=False))
    start: str = Field(max_length=5, description="HH:MM, local time")
    end: str = Field(max_length=5, description="HH:MM, local time; before start = overnight")
    holidays_country: str | None = Field(default=None, max_length=8)
    holidays_subdivision: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
