"""Editing a maintenance window: its whole definition is replaced by a new one, checked
like a new window (medic.ops.maintenance.CreateWindow), in the same row so its id, its
history and its progress stay. The scheduler looks at it again at once: a window
edited shut while in progress announces its end, one edited open announces its start.
"""

from __future__ import annotations

from datetime import UTC, datetime

from medic.models import MaintenanceWindow
from medic.ops import config_history
from medic.ops.maintenance import (
    CreateWindow,
    WindowCommand,
    WindowView,
    check_services,
    check_times,
    find_window,
)
from medic.ops.named import plain
from medic.ops.operation import Call, operation


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


@operation("maintenance.update", scope="write", audit="maintenance.update")
def update_window(call: Call, command: UpdateWindow) -> WindowView:
    session = call.session
    window = find_window(session, command.window_id, lock=True)
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
    check_times(window, now)
    check_services(session, new.service_ids)
    session.add(window)
    session.flush()
    call.db.wake_scheduler(session)
    config_history.changed(call, "maintenance_window", window, configured)
    call.audit("maintenance_window", window.window_id, before=before, after=_details(window))
    return WindowView.of(window, now)
