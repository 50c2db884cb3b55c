"""A monitored service: one heartbeat name, its schedule and its current state."""

import uuid as uuid_module
from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from medic.models.columns import JSON_DOCUMENT, NEVER_REUSE_IDS, new_badge_token, utcnow


class Service(SQLModel, table=True):
    __tablename__ = "services"
    # The scheduler's two claims: services whose deadline passed while they were
    # healthy, and services with an explicit check due (see medic.scheduler.loop).
    # Neither indexes a column a plain heartbeat changes, and half of each page is
    # kept free: a heartbeat's update of its service is a HOT update on PostgreSQL
    # (the row rewritten in place, no index touched), the cheapest write there is.
    __table_args__ = (
        Index(
            "ix_services_due_healthy",
            "deadline_check_at",
            postgresql_where=text("active AND state <> 'down'"),
            sqlite_where=text("active AND state <> 'down'"),
        ),
        Index(
            "ix_services_check_at",
            "check_at",
            postgresql_where=text("check_at IS NOT NULL"),
            sqlite_where=text("check_at IS NOT NULL"),
        ),
        # A slug names a service within its team (slug ping URLs, medic.core.slugs).
        UniqueConstraint("team", "slug", name="uq_services_team_slug"),
        {**NEVER_REUSE_IDS, "postgresql_with": {"fillfactor": 50}},
    )

    service_id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(
        default_factory=lambda: str(uuid_module.uuid4()), max_length=36, unique=True, index=True
    )
    heartbeat_name: str = Field(max_length=255)
    # The capability in its status badge URLs (/badges/<token>.svg); rotatable. Null (a
    # row written without it) until rotated: no badge.
    badge_token: str | None = Field(
        default_factory=new_badge_token, max_length=32, unique=True, index=True
    )
    # Lower-cased heartbeat_name: names match case-insensitively, so they are unique that way.
    name_key: str = Field(max_length=255, unique=True, index=True)
    service_name: str | None = Field(default=None, max_length=255)
    slug: str | None = Field(default=None, max_length=100)
    active: bool = True
    alert_interval: int = Field(description="minutes")
    threshold: int = 1
    team: str = Field(default="site-reliability", max_length=255)
    priority: str = Field(default="p3", max_length=8)
    runbook: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The routing policy by name; None follows the policy named `default`.
    routing_policy: str | None = Field(default=None, max_length=255)
    # Heartbeat names of the services this one depends on (medic.core.dependencies):
    # while one is down, this service's alerts are recorded but not sent.
    depends_on: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSON_DOCUMENT, nullable=False, server_default=text("'[]'")),
    )
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
    # Detection rules (medic.core.detection_rules): alert at the N-th failure in a row,
    # recover at the M-th success in a row; a run shorter than min_duration fails; more
    # than max_beats in a window fails; a STARTED may be start_grace late.
    alert_after_failures: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    recover_after_successes: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    min_duration_seconds: int | None = None
    max_beats: int | None = None
    start_grace_seconds: int | None = None

    # new (never beat) | up | down (an alert is open); see medic.core.detection.
    state: str = Field(default="new", max_length=16)
    state_changed_at: datetime | None = None
    state_reason: str | None = Field(default=None, max_length=1000)
    # The instant the service becomes late if nothing more arrives (its schedule).
    next_due_at: datetime | None = None
    # When the scheduler next looks at the deadline: never later than next_due_at.
    # Ingest moves next_due_at on every beat and leaves this alone; the scheduler
    # moves it up to next_due_at when it finds the deadline not yet passed
    # (medic.scheduler.claims), about once per deadline instead of once per beat.
    deadline_check_at: datetime | None = None
    # When the scheduler must look again regardless of next_due_at: a failure report,
    # a recovery to confirm, a run's max_duration, a mute expiring, a missed deadline
    # to count while down. Ingest only ever moves it earlier.
    check_at: datetime | None = None
    last_heartbeat_at: datetime | None = None
    last_alive_at: datetime | None = None
    last_failure_at: datetime | None = None
    # Why the last failure report is one when it is not a FAILED/DOWN (too fast, too often).
    last_failure_reason: str | None = Field(default=None, max_length=1000)
    muted_until: datetime | None = None
    mute_reason: str | None = Field(default=None, max_length=1000)
    # Missed deadlines (and failure reports) since the last proof of life; the latest
    # deadline counted, so each one is counted once.
    consecutive_failures: int = 0
    missed_deadline_at: datetime | None = None
