"""Mutes, maintenance windows and parents that are down silence notifications, never
detection: why a notification about a service must not reach anyone now, if it must not."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from medic.core.maintenance import WindowRule, covers
from medic.models import MaintenanceWindow


class Silenceable(Protocol):
    """What silencing reads of a service (a claimed row or a Service)."""

    service_id: int | None
    muted: bool
    muted_until: datetime | None


def window_rule(window: MaintenanceWindow) -> WindowRule:
    return WindowRule(
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        cron_expression=window.cron_expression,
        duration_minutes=window.duration_minutes,
        timezone=window.timezone,
        service_ids=None if window.service_ids is None else tuple(window.service_ids),
    )


def suppression(
    service: Silenceable, windows: Sequence[MaintenanceWindow], now: datetime
) -> str | None:
    """Why a notification about `service` must not reach anyone now, if it must not."""
    if service.muted and (service.muted_until is None or service.muted_until > now):
        until = f" until {service.muted_until.isoformat()}" if service.muted_until else ""
        return f"muted{until}"
    for window in windows:
        assert service.service_id is not None
        if covers(window_rule(window), service.service_id, now):
            return f"maintenance window {window.name!r}"
    return None


@dataclass(frozen=True)
class Silencing:
    """What silences notifications during a pass: the maintenance windows, and the
    services held back by a parent that is down (medic.scheduler.dependencies)."""

    windows: Sequence[MaintenanceWindow]
    held_back: Mapping[int, str] = field(default_factory=dict)

    def reason(self, service: Silenceable, now: datetime) -> str | None:
        assert service.service_id is not None
        return suppression(service, self.windows, now) or self.held_back.get(service.service_id)
