"""Monitors created from the job (as Sentry Crons does): a heartbeat that carries its
service's config (`"monitor": {...}`) creates the service or brings it in line, through
the declared operations service.register and service.update (audited as the key).

Only a key that may register services (`write`) provisions. An `ingest`-only key is
what a job's environment holds, and a leaked one must not be able to change a
schedule or invent services: its config is ignored, never applied, and the answer
says so; its heartbeat is recorded as any other (or is 404 for an unknown name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from medic.config import validate_timezone
from medic.core.monitor_config import differences, monitor_fields, schedule_fields
from medic.core.scopes import grants
from medic.ops import services
from medic.ops.errors import InvalidInput, NotFound
from medic.ops.operation import Context
from medic.ops.service_commands import GetService, RegisterService, ServiceChanges, UpdateService

MAX_SECONDS = 366 * 86400


class MonitorConfig(BaseModel):
    """A service's schedule as the job declares it; every field optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    schedule: str | None = Field(
        default=None,
        max_length=255,
        description="a five-field cron expression ('0 3 * * *') or an interval ('30m', '1h')",
    )
    timezone: str | None = Field(default=None, max_length=64, description="IANA name")
    max_runtime_seconds: int | None = Field(
        default=None, ge=1, le=MAX_SECONDS, description="a run longer than this is reported"
    )
    grace_seconds: int | None = Field(
        default=None, ge=0, le=MAX_SECONDS, description="how late a heartbeat may be"
    )

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is not None:
            schedule_fields(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None else validate_timezone(value)

    def fields(self) -> dict[str, Any]:
        return monitor_fields(
            self.schedule, self.timezone, self.max_runtime_seconds, self.grace_seconds
        )


@dataclass(frozen=True, slots=True)
class Provisioned:
    """What a monitor config did: created, updated, unchanged or ignored (and why)."""

    outcome: Literal["created", "updated", "unchanged", "ignored"]
    note: str | None = None


IGNORED = Provisioned(
    "ignored",
    "monitor config ignored: this key has no 'write' scope, so it cannot create or change services",
)


def provision(context: Context, service: int | str, config: MonitorConfig) -> Provisioned:
    """Create the service named `service` (a heartbeat name) with the config, or update
    the existing one where it differs. A service given by id is only ever updated."""
    if not grants(context.actor.scopes, "write"):
        return IGNORED
    wanted = config.fields()
    try:
        current = services.get_service(context, GetService(service=service))
    except NotFound:
        if isinstance(service, int):
            raise
        if "schedule_type" not in wanted:
            raise InvalidInput(
                f"monitor.schedule is required to create service {service!r}"
            ) from None
        command = RegisterService.of(heartbeat_name=service, **wanted)
        _, created = services.register(context, command)
        return Provisioned("created" if created else "unchanged")
    changes = differences(current.model_dump(), wanted)
    if not changes:
        return Provisioned("unchanged")
    try:
        update = ServiceChanges.model_validate(changes)
    except ValueError as exc:  # e.g. a timezone the service fields refuse
        raise InvalidInput(f"monitor: {exc}") from None
    services.update_service(context, UpdateService(service=current.service_id, changes=update))
    return Provisioned("updated")


def describe(provisioned: Provisioned, name: str) -> str:
    """A clause for the heartbeat's answer (`heartbeat recorded; …`)."""
    if provisioned.note is not None:
        return provisioned.note
    if provisioned.outcome == "unchanged":
        return f"service {name!r} already matches its monitor config"
    return f"service {name!r} {provisioned.outcome} from its monitor config"
