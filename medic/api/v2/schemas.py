"""v2 response shapes (what /openapi.json documents)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from medic.models import Alert, ApiKey, Service


class ServiceOut(BaseModel):
    service_id: int
    uuid: str
    ping_url: str
    heartbeat_name: str
    service_name: str | None
    active: bool
    alert_interval: int
    threshold: int
    team: str
    priority: str
    runbook: str | None
    schedule_type: str
    cron_expression: str | None
    timezone: str | None
    grace_period_seconds: int
    max_duration_seconds: int | None
    routing_policy: str | None = None
    state: str
    down: bool
    next_due_at: datetime | None
    last_heartbeat_at: datetime | None
    muted: bool
    muted_until: datetime | None
    mute_reason: str | None
    consecutive_failures: int
    date_added: datetime
    date_modified: datetime

    @classmethod
    def of(cls, service: Service, base_url: str) -> ServiceOut:
        data = service.model_dump()
        data["ping_url"] = f"{base_url.rstrip('/')}/ping/{service.uuid}"
        return cls.model_validate(data)


class HeartbeatOut(BaseModel):
    heartbeat_id: int
    service_id: int
    heartbeat_name: str
    service_name: str | None = None
    time: datetime
    status: str
    run_id: str | None
    message: str | None = None


class ApiKeyOut(BaseModel):
    api_key_id: int
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    heartbeat_rate_limit: int | None
    management_rate_limit: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls.model_validate(key.model_dump())


class AlertOut(BaseModel):
    alert_id: int
    alert_name: str | None
    service_id: int
    active: bool
    external_reference_id: str | None
    alert_cycle: int
    created_date: datetime
    closed_date: datetime | None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        return cls.model_validate(alert.model_dump())
