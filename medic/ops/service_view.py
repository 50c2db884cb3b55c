"""The one view of a service every door renders (v1 picks its original fields from it)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from medic.models import Service

# Fields that are capabilities: whoever holds them can post heartbeats for the service.
# They are shown only to an actor that may post heartbeats itself (scope `ingest`: write
# and admin keys); a read key sees null, so a leaked dashboard key cannot fake liveness.
CAPABILITY_FIELDS = frozenset({"uuid", "ping_url"})


class ServiceView(BaseModel):
    """A monitored service and its current status (state: new | up | down)."""

    service_id: int
    uuid: str | None = Field(description="null unless the caller may post heartbeats")
    ping_url: str | None = Field(description="null unless the caller may post heartbeats")
    heartbeat_name: str
    service_name: str | None
    slug: str | None = Field(default=None, description="its name in slug ping URLs")
    active: bool
    alert_interval: int = Field(description="minutes")
    threshold: int
    team: str
    priority: str
    runbook: str | None
    schedule_type: str
    cron_expression: str | None
    timezone: str | None
    grace_period_seconds: int
    max_duration_seconds: int | None
    alert_after_failures: int = Field(
        default=1, description="alerts at this many failures in a row"
    )
    recover_after_successes: int = Field(
        default=1, description="recovers at this many heartbeats in a row"
    )
    min_duration_seconds: int | None = Field(
        default=None, description="a job run that completes sooner is a failure"
    )
    max_beats: int | None = Field(
        default=None, description="more heartbeats in one window is a failure"
    )
    start_grace_seconds: int | None = Field(
        default=None, description="how late a job's STARTED may arrive"
    )
    routing_policy: str | None = None
    depends_on: list[str] = Field(
        default_factory=list, description="services whose being down silences this one's alerts"
    )
    state: str
    state_reason: str | None = Field(description="why it is in that state")
    state_changed_at: datetime | None
    down: bool = Field(description="active and state == 'down'")
    next_due_at: datetime | None = Field(
        description="when the service becomes late if no heartbeat arrives"
    )
    last_heartbeat_at: datetime | None
    muted: bool
    muted_until: datetime | None
    mute_reason: str | None
    date_muted: datetime | None
    consecutive_failures: int
    date_added: datetime
    date_modified: datetime

    @classmethod
    def of(cls, service: Service, base_url: str, capabilities: bool) -> ServiceView:
        """`capabilities`: whether the viewer may see the ping uuid and URL."""
        data = service.model_dump()
        data["ping_url"] = f"{base_url.rstrip('/')}/ping/{service.uuid}"
        if not capabilities:
            data.update(dict.fromkeys(CAPABILITY_FIELDS))
        data["down"] = service.active and service.state == "down"
        return cls.model_validate(data)
