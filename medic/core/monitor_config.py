"""A job's own monitor config (`"monitor": {...}` in a heartbeat, `monitor(...)` in
medic.client, `medic exec --schedule`): the rules that turn it into service fields.

The schedule is one string, as Sentry Crons takes it: a five-field cron expression
(`0 3 * * *`) or an interval (`30m`, `1h`, `1d`). Medic counts intervals in whole
minutes, so `90s` is refused rather than silently rounded.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from medic.core.durations import parse_duration


def schedule_fields(schedule: str) -> dict[str, Any]:
    """The service fields a schedule string sets; ValueError says why it is not one."""
    text = schedule.strip()
    if not text:
        raise ValueError("schedule must not be empty")
    if len(text.split()) > 1:
        return {"schedule_type": "cron", "cron_expression": " ".join(text.split())}
    try:
        interval = parse_duration(text)
    except ValueError:
        raise ValueError(
            f"schedule {schedule!r} is neither a cron expression (five fields, e.g. "
            "'0 3 * * *') nor an interval (e.g. '30m', '1h', '1d')"
        ) from None
    if interval % timedelta(minutes=1):
        raise ValueError("schedule: an interval must be a whole number of minutes")
    return {"schedule_type": "interval", "alert_interval": interval // timedelta(minutes=1)}


def monitor_fields(
    schedule: str | None,
    timezone: str | None,
    max_runtime_seconds: int | None,
    grace_seconds: int | None,
) -> dict[str, Any]:
    """Service fields for the config's given parts (absent parts are left as they are)."""
    fields: dict[str, Any] = {}
    if schedule is not None:
        fields.update(schedule_fields(schedule))
    if timezone is not None:
        fields["timezone"] = timezone
    if max_runtime_seconds is not None:
        fields["max_duration_seconds"] = max_runtime_seconds
    if grace_seconds is not None:
        fields["grace_period_seconds"] = grace_seconds
    return fields


def differences(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The wanted fields that differ from the service's: an unchanged config changes
    nothing (no update, no audit entry) however often the job reports it."""
    return {k: v for k, v in wanted.items() if current.get(k) != v}
