"""Editing a maintenance window: its whole definition is replaced by a new one, checked
like a new window (medic.ops.maintenance.CreateWindow), in the same row so its id, its
history and its progress stay. The scheduler looks at it again at once: a window
edited shut while in progress announces its end, one edited open announces its start.
"""

from __future__ import annotations

from datetime import UTC, datetime

from medic.core.schedules import next_cron_fire
from medic.models import MaintenanceWindow
from medic.ops import config_history
from medic.ops.errors import InvalidInput
from medic.ops.maintenance import (
    CreateWindow,
    WindowCommand,
    WindowView,
    _check_services,
    _find,
)
from medic.ops.named import plain
from medic.ops.operation import Call, operation
from medic.scheduler.silencing import window_rule


class UpdateWindow(WindowCommand):
    """The window `window_id` gets the definition `window` (every field: one left out
    takes its default, as when creating)."""

    window: CreateWindow


def _details(window: MaintenanceWindow) -> dict[str, object]:
    return {
        "name": window.name,
        "reason": window.reason,
        "service_ids": window.service_ids,
        "starts_at": plain(window.starts_at),
        "ends_at": plain(window.ends_at),
        "cron_expression": window.cron_expression,
        "duration_minutes": window.duration_minutes,
        "timezone": window.timezone,
    }


def _check_times(window: MaintenanceWindow, now: datetime) -> None:
    """As when creating: a recurring window must fire again, a one-time one must not
    have ended already."""
    rule = window_rule(window)
    if rule.recurring:
        try:
            next_cron_fire(rule.cron_expression or "", rule.timezone, now)
        except ValueError:
            raise InvalidInput(
                f"cron_expression {rule.cron_expression!r} never fires"
                f" in {rule.timezone} from now on"
            ) from None
    elif window.ends_at is not None and window.ends_at <= now:
        raise InvalidInput(f"ends_at {window.ends_at.isoformat()} is in the past")


@operation("maintenance.update", scope="write", audit="maintenance.update")
def update_window(call: Call, command: UpdateWindow) -> WindowView:
    session = call.session
    window = _find(session, command.window_id, lock=True)
    configured = config_history.snapshot("maintenance_window", window)
    before = _details(window)
    new = command.window
    now = datetime.now(UTC)
    window.name = new.name
    window.reason = new.reason
    window.service_ids = new.service_ids
    window.starts_at = new.opens_at(now)
    window.ends_at = new.closes_at(now)
    window.cron_expression = new.cron_expression
    window.duration_minutes = new.occurrence_minutes()
    window.timezone = new.timezone or call.settings.medic_timezone
    window.next_transition_at = now
    _check_times(window, now)
    _check_services(session, new.service_ids)
    session.add(window)
    session.flush()
    call.db.wake_scheduler(session)
    config_history.changed(call, "maintenance_window", window, configured)
    call.audit("maintenance_window", window.window_id, before=before, after=_details(window))
    return WindowView.of(window, now)
