"""Mutes and maintenance windows silence notifications, never detection: why a
notification about a service must not reach anyone now, if it must not."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from medic.core.maintenance import WindowRule, covers
from medic.models import MaintenanceWindow
from medic.scheduler.claims import ClaimedService


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
    service: ClaimedService, windows: Sequence[MaintenanceWindow], now: datetime
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
