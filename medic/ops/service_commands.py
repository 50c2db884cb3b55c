"""What a user may ask of services, as commands that own their validation."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from medic.config import validate_timezone
from medic.core.dependencies import clean_parents
from medic.core.detection_rules import MAX_BEATS, MAX_SECONDS, MAX_STREAK
from medic.core.links import require_web_url
from medic.core.names import clean_name
from medic.core.slugs import check_slug
from medic.ops.fields import Duration, Reason, ServiceRef
from medic.ops.operation import Command

PRIORITIES = ("p1", "p2", "p3", "p4", "p5")
STATES = ("new", "up", "down")


def _clean_priority(value: str | None) -> str | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered not in PRIORITIES:
        raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}")
    return lowered


def _clean_optional_timezone(value: str | None) -> str | None:
    return None if value is None or value == "" else validate_timezone(value)


def _no_nul(value: str | None) -> str | None:
    """PostgreSQL cannot store NUL in text (a 500 there); refuse it on every backend."""
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _optional_slug(value: str | None) -> str | None:
    """An empty slug means none (the service has no slug ping URL)."""
    return None if value is None or value == "" else check_slug(value)


def _parents(value: list[str] | None) -> list[str] | None:
    return None if value is None else clean_parents(value)


def _optional_name(value: str | None) -> str | None:
    """An empty routing_policy means none (the `default` policy)."""
    return None if value is None or value == "" else value


class ServiceFields(BaseModel):
    """Everything about a service a user may set; shared by register and update."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    service_name: str | None = Field(default=None, max_length=255)
    slug: str | None = Field(
        default=None,
        max_length=100,
        description="its name in its team's slug ping URLs (/ping/<ping key>/<slug>); "
        "default: from heartbeat_name",
    )
    alert_interval: int | None = Field(default=None, description="minutes")
    threshold: int | None = None
    team: str | None = Field(default=None, min_length=1, max_length=255)
    priority: str | None = None
    runbook: str | None = Field(
        default=None,
        max_length=2048,
        description="an http(s) URL, shown as a link in alerts; empty clears it",
    )
    schedule_type: Literal["interval", "cron", "window"] | None = None
    cron_expression: str | None = Field(default=None, max_length=255)
    timezone: str | None = Field(default=None, description="IANA name; default MEDIC_TIMEZONE")
    grace_period_seconds: int | None = None
    max_duration_seconds: int | None = Field(default=None, ge=1, le=366 * 86400)
    alert_after_failures: int | None = Field(
        default=None,
        ge=1,
        le=MAX_STREAK,
        description="alert at this many failures in a row (missed deadlines and failure "
        "reports alike); default 1",
    )
    recover_after_successes: int | None = Field(
        default=None,
        ge=1,
        le=MAX_STREAK,
        description="recover at this many heartbeats in a row; default 1",
    )
    min_duration_seconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_SECONDS,
        description="a job run that completes sooner is a failure; below max_duration_seconds",
    )
    max_beats: int | None = Field(
        default=None,
        ge=1,
        le=MAX_BEATS,
        description="window schedules: more heartbeats than this in one window is a failure",
    )
    start_grace_seconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_SECONDS,
        description="how late a job's STARTED may arrive after its expected time; below "
        "grace_period_seconds, which stays the time it has to complete",
    )
    routing_policy: str | None = Field(
        default=None, max_length=255, description="a routing policy's name; null: `default`"
    )
    depends_on: list[str] | None = Field(
        default=None,
        description="heartbeat names of the services this one depends on: while one is "
        "down, this service's alerts are recorded but not sent; [] clears",
    )

    _priority = field_validator("priority")(_clean_priority)
    _timezone = field_validator("timezone")(_clean_optional_timezone)
    _text = field_validator("service_name", "team", "runbook", "cron_expression", "routing_policy")(
        _no_nul
    )
    _routing_policy = field_validator("routing_policy")(_optional_name)
    _slug = field_validator("slug")(_optional_slug)
    _depends_on = field_validator("depends_on")(_parents)
    # A link in every alert: Medic builds it, and only from an http(s) URL, so a
    # runbook can never carry markup (`<!channel>`, a disguised link) into a channel.
    _runbook = field_validator("runbook")(require_web_url)


class RegisterService(ServiceFields, Command):
    """A new service. v1 defaults: threshold 1, team site-reliability, priority p3."""

    heartbeat_name: str = Field(max_length=255)
    alert_interval: int | None = Field(
        default=None, description="minutes; required unless schedule_type is cron"
    )
    environment: str | None = Field(default=None, max_length=64)
    active: bool = True

    @model_validator(mode="after")
    def _interval_unless_cron(self) -> RegisterService:
        if self.alert_interval is None:
            if self.schedule_type != "cron":
                raise ValueError(
                    "alert_interval is required (minutes) unless schedule_type is cron"
                )
            # A cron service's deadlines come from its expression; the column needs a value.
            object.__setattr__(self, "alert_interval", 1)
        return self

    @field_validator("heartbeat_name")
    @classmethod
    def _name(cls, value: str) -> str:
        return clean_name(value)

    def audit_target(self) -> tuple[str | None, object]:
        return "service", self.heartbeat_name


class ServiceChanges(ServiceFields):
    """A partial update; fields left out stay as they are. `muted` is a door's shorthand
    for the mute and unmute commands (v1 `{"muted": 1}`); `down` follows `state` and
    cannot be set."""

    heartbeat_name: str | None = Field(default=None, max_length=255)
    active: bool | None = None
    muted: bool | None = Field(
        default=None, description="true: mute with the default duration; false: unmute"
    )

    @field_validator("heartbeat_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else clean_name(value)


class UpdateService(Command):
    service: ServiceRef
    changes: ServiceChanges

    def audit_target(self) -> tuple[str | None, object]:
        return "service", self.service


class ServiceCommand(Command):
    """A command about one service, named by id or heartbeat name."""

    service: ServiceRef

    def audit_target(self) -> tuple[str | None, object]:
        return "service", self.service


class MuteService(ServiceCommand):
    """Silence notifications (never detection) for `duration`, default
    ALERT_AUTO_UNMUTE_HOURS; muting a muted service starts the new duration now."""

    duration: Duration | None = None
    reason: Reason | None = None


class UnmuteService(ServiceCommand):
    pass


class GetService(ServiceCommand):
    pass


class DeleteService(ServiceCommand):
    pass


class ListServices(Command):
    service_name: str | None = None
    active: bool | None = None
    team: str | None = None
    state: Literal["new", "up", "down"] | None = None
    limit: int | None = Field(default=None, ge=0, le=1000)
    offset: int = Field(default=0, ge=0, le=2**62)
