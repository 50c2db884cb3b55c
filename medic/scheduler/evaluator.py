"""Applying detection's verdicts to claimed services, in the caller's transaction.

The scheduler holds the claimed rows' locks, so the facts read here (open runs, the
open alert) and the changes written (state, alert, history, outbox) form one atomic
step per service: a state change and the notification it causes commit together.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from medic.core.detection import (
    Action,
    Problem,
    Verdict,
    evaluate,
    run_deadline,
    stamp,
)
from medic.core.detection_rules import rules_of, start_deadline
from medic.core.names import name_key
from medic.core.schedules import schedule_of
from medic.models import Alert, JobRun, MaintenanceWindow, Notification, StateChange
from medic.ops import audit
from medic.ops.actor import SYSTEM
from medic.scheduler import outbox
from medic.scheduler.bulk import insert_rows
from medic.scheduler.claims import ClaimedService, write_back
from medic.scheduler.dependencies import held_back, look_again_at_children
from medic.scheduler.facts import service_facts
from medic.scheduler.silencing import Silencing

log = logging.getLogger(__name__)
RETRY_BROKEN_AFTER = timedelta(minutes=5)


@dataclass
class PassCounts:
    evaluated: int = 0
    opened: int = 0
    recovered: int = 0
    # Notifications to send once the pass's transaction commits.
    to_send: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _NewAlert:
    """An alert inserted by this pass: all the rest of the pass needs is its id."""

    alert_id: int


@dataclass
class _NewRows:
    """History and outbox rows of one batch, inserted together (multi-row INSERTs)."""

    state_changes: list[dict[str, object]] = field(default_factory=list)
    notifications: list[dict[str, object]] = field(default_factory=list)

    def write(self, session: Session) -> list[int]:
        """Insert the rows; the ids of the notifications to send after the commit."""
        connection = session.connection()
        insert_rows(connection, StateChange.__table__, self.state_changes)  # type: ignore[attr-defined]
        ids = insert_rows(
            connection,
            Notification.__table__,  # type: ignore[attr-defined]
            self.notifications,
            returning="notification_id",
        )
        return [
            notification_id
            for notification_id, row in zip(ids, self.notifications, strict=True)
            if row["suppressed_by"] is None
        ]


def evaluate_claimed(
    session: Session,
    services: Sequence[ClaimedService],
    now: datetime,
    default_timezone: str,
    windows: Sequence[MaintenanceWindow],
    counts: PassCounts,
) -> None:
    ids = [service.service_id for service in services]
    runs: dict[int, list[JobRun]] = defaultdict(list)
    for run in session.exec(
        select(JobRun)
        .where(col(JobRun.service_id).in_(ids))
        .where(col(JobRun.finished_at).is_(None))
    ):
        runs[run.service_id].append(run)
    open_alerts = {
        alert.service_id: alert
        for alert in session.exec(
            select(Alert).where(col(Alert.service_id).in_(ids)).where(col(Alert.active))
        )
    }
    verdicts: list[tuple[ClaimedService, Verdict]] = []
    for service in services:
        assert service.service_id is not None
        try:
            facts = service_facts(session, service, runs[service.service_id], now, default_timezone)
            verdict = evaluate(facts, now)
        except Exception:
            # One service that cannot be evaluated must not stop the others: look again later.
            log.exception("could not evaluate service %s; retrying later", service.service_id)
            retry_at = now + RETRY_BROKEN_AFTER
            service.check_at = retry_at
            service.next_due_at = max(service.next_due_at or retry_at, retry_at)
            continue
        verdicts.append((service, verdict))
    silencing = Silencing(windows, _held_back(session, verdicts))
    _create_alerts(session, verdicts, open_alerts, now, silencing)
    announced = _announced_alerts(session, verdicts, open_alerts)
    new_rows = _NewRows()
    for service, verdict in verdicts:
        assert service.service_id is not None
        _apply(
            session,
            service,
            verdict,
            runs[service.service_id],
            open_alerts,
            announced,
            now,
            silencing,
            counts,
            new_rows,
        )
        counts.evaluated += 1
    recovered = [s.heartbeat_name for s, v in verdicts if v.action == Action.RECOVER]
    look_again_at_children(session, recovered, ids, now)
    write_back(session, services)
    counts.to_send.extend(new_rows.write(session))


def _held_back(session: Session, verdicts: list[tuple[ClaimedService, Verdict]]) -> dict[int, str]:
    """Services of the batch held back by a parent that is down, counting the parents
    this batch opens or recovers at their new state."""
    changed = {Action.OPEN: True, Action.RECOVER: False}
    overrides = {
        name_key(service.heartbeat_name): (service.heartbeat_name, changed[verdict.action])
        for service, verdict in verdicts
        if verdict.action in changed
    }
    children = [(service.service_id, service.depends_on) for service, _ in verdicts]
    return held_back(session, children, overrides)


def _create_alerts(
    session: Session,
    verdicts: list[tuple[ClaimedService, Verdict]],
    open_alerts: dict[int, Alert],
    now: datetime,
    silencing: Silencing,
) -> None:
    """One alert per opening incident, inserted together (one flush, not one per service)."""
    rows = [
        {
            "service_id": service.service_id,
            "alert_name": f"{service.heartbeat_name} is down",
            "active": True,
            "alert_cycle": verdict.consecutive_failures,
            "created_date": now,
            "suppressed_by": silencing.reason(service, now),
        }
        for service, verdict in verdicts
        if verdict.action == Action.OPEN and service.service_id not in open_alerts
    ]
    if rows:
        table = Alert.__table__  # type: ignore[attr-defined]
        alert_ids = insert_rows(session.connection(), table, rows, returning="alert_id")
        for row, alert_id in zip(rows, alert_ids, strict=True):
            open_alerts[row["service_id"]] = _NewAlert(alert_id)  # type: ignore[assignment]


def _announced_alerts(
    session: Session, verdicts: list[tuple[ClaimedService, Verdict]], open_alerts: dict[int, Alert]
) -> set[int]:
    """Of the open alerts in this batch, those whose opening was notified (not suppressed)."""
    existing = [
        open_alerts[service.service_id].alert_id
        for service, verdict in verdicts
        if verdict.action in (Action.RECOVER, Action.STILL_DOWN)
        and service.service_id in open_alerts
    ]
    if not existing:
        return set()
    return set(
        session.exec(
            select(Notification.alert_id)
            .where(col(Notification.alert_id).in_(existing))
            .where(Notification.kind == "alert.opened")
            .where(col(Notification.suppressed_by).is_(None))
        ).all()
    )


def _apply(
    session: Session,
    service: ClaimedService,
    verdict: Verdict,
    service_runs: list[JobRun],
    open_alerts: dict[int, Alert],
    announced: set[int],
    now: datetime,
    silencing: Silencing,
    counts: PassCounts,
    new_rows: _NewRows,
) -> None:
    assert service.service_id is not None
    alert = open_alerts.get(service.service_id)
    if verdict.unmute:
        _auto_unmute(session, service)
    if verdict.action == Action.OPEN:
        assert verdict.problem is not None
        _open(session, service, verdict, alert, service_runs, now, silencing, counts, new_rows)
    elif verdict.action == Action.RECOVER:
        _recover(session, service, alert, announced, now, silencing, counts, new_rows)
    elif verdict.action == Action.PENDING:
        assert verdict.problem is not None
        service.consecutive_failures = verdict.consecutive_failures
        service.missed_deadline_at = verdict.missed_deadline_at
        service.state_reason = (
            f"{verdict.problem.reason}; failure {verdict.consecutive_failures} of "
            f"{service.alert_after_failures} in a row before it alerts"
        )
    elif verdict.action == Action.CLEARED:
        service.consecutive_failures, service.missed_deadline_at = 0, None
        service.state_reason = _alive_reason(service)
    elif verdict.action == Action.RECOVERING:
        service.state_reason = (
            f"{_alive_reason(service)}; recovers after {service.recover_after_successes} in a row"
        )
    elif verdict.action == Action.STILL_DOWN:
        assert verdict.problem is not None
        service.consecutive_failures = verdict.consecutive_failures
        service.missed_deadline_at = verdict.missed_deadline_at
        service.state_reason = _held_reason(verdict.problem.reason, service, silencing)
        if alert is not None and alert.alert_cycle != verdict.consecutive_failures:
            alert.alert_cycle = verdict.consecutive_failures
            session.add(alert)
        if alert is not None and alert.alert_id not in announced:
            _announce_late(session, service, verdict, alert, now, silencing, new_rows)
    service.check_at = verdict.check_at


def _held_reason(reason: str, service: ClaimedService, silencing: Silencing) -> str:
    """A state reason says when a parent that is down holds its notifications back."""
    held = silencing.held_back.get(service.service_id)
    return f"{reason}; {held}" if held else reason


def _announce_late(
    session: Session,
    service: ClaimedService,
    verdict: Verdict,
    alert: Alert,
    now: datetime,
    silencing: Silencing,
    new_rows: _NewRows,
) -> None:
    """A service went down while muted, in maintenance or behind a parent that was
    down, and is still down now that nothing silences it: people hear about it now, once."""
    if silencing.reason(service, now) is not None:
        return
    assert verdict.problem is not None
    alert.suppressed_by = None
    session.add(alert)
    _notify(
        new_rows,
        "alert.opened",
        service,
        alert,
        now,
        None,
        reason=f"{verdict.problem.reason}; still down after notifications were silenced",
        problem=verdict.problem.kind,
    )


def _open(
    session: Session,
    service: ClaimedService,
    verdict: Verdict,
    alert: Alert | None,
    runs: Sequence[JobRun],
    now: datetime,
    silencing: Silencing,
    counts: PassCounts,
    new_rows: _NewRows,
) -> None:
    problem: Problem = verdict.problem  # type: ignore[assignment]
    assert alert is not None  # _create_alerts made one
    if problem.kind == "hung" and problem.run is not None:
        for run in runs:
            if (run.run_id, run.started_at) == (problem.run.run_id, problem.run.started_at):
                run.timed_out_at = now
                session.add(run)
    previous = service.state
    reason = _held_reason(problem.reason, service, silencing)
    service.state, service.down = "down", True
    service.state_changed_at, service.state_reason = now, reason
    service.consecutive_failures = verdict.consecutive_failures
    service.missed_deadline_at = verdict.missed_deadline_at
    new_rows.state_changes.append(
        {
            "service_id": service.service_id,
            "at": now,
            "from_state": previous,
            "to_state": "down",
            "reason": reason,
            "alert_id": alert.alert_id,
        }
    )
    _notify(
        new_rows,
        "alert.opened",
        service,
        alert,
        now,
        silencing.reason(service, now),
        reason=problem.reason,
        problem=problem.kind,
        **_began(service, problem),
    )
    counts.opened += 1


def _began(service: ClaimedService, problem: Problem) -> dict[str, str]:
    """`deadline_at`: when the problem began (the missed deadline, the run's max duration,
    the failure report), so delivery can measure deadline → notification latency."""
    began: datetime | None = service.next_due_at
    if problem.kind == "failed":
        began = service.last_failure_at
    elif problem.kind == "hung" and problem.run is not None and service.max_duration_seconds:
        began = run_deadline(problem.run, timedelta(seconds=service.max_duration_seconds))
    elif problem.kind == "not_started" and began is not None:
        schedule = schedule_of(service, "UTC")  # the timezone does not move a deadline's end
        began = start_deadline(schedule, rules_of(service), began)
    return {"deadline_at": began.isoformat()} if began is not None else {}


def _recover(
    session: Session,
    service: ClaimedService,
    alert: Alert | None,
    announced: set[int],
    now: datetime,
    silencing: Silencing,
    counts: PassCounts,
    new_rows: _NewRows,
) -> None:
    reason = _alive_reason(service)
    down_since, failures = service.state_changed_at, service.consecutive_failures
    service.state = "up" if service.last_alive_at is not None else "new"
    service.down = False
    service.state_changed_at, service.state_reason = now, reason
    service.consecutive_failures, service.missed_deadline_at = 0, None
    suppressed = silencing.reason(service, now)
    if alert is not None:
        alert.active, alert.closed_date = False, now
        session.add(alert)
        if alert.alert_id in announced:
            # Whoever was told it broke is told it is fixed, even if muted since:
            # a mute silences new noise, it must not leave a PagerDuty incident open.
            suppressed = None
        elif suppressed is None:
            suppressed = "its alert was never announced"
    new_rows.state_changes.append(
        {
            "service_id": service.service_id,
            "at": now,
            "from_state": "down",
            "to_state": service.state,
            "reason": reason,
            "alert_id": alert.alert_id if alert else None,
        }
    )
    down_for = (now - down_since).total_seconds() if down_since else None
    _notify(
        new_rows,
        "alert.resolved",
        service,
        alert,
        now,
        suppressed,
        reason=reason,
        resolution="recovered",
        down_for_seconds=down_for,
        consecutive_failures=failures,
    )
    counts.recovered += 1


def _alive_reason(service: ClaimedService) -> str:
    if service.last_alive_at is None:
        return "no longer due"
    return f"heartbeat received at {stamp(service.last_alive_at)}"


def _notify(
    new_rows: _NewRows,
    kind: str,
    service: ClaimedService,
    alert: Alert | None,
    now: datetime,
    suppressed_by: str | None,
    **details: object,
) -> None:
    new_rows.notifications.append(
        {
            "kind": kind,
            "service_id": service.service_id,
            "alert_id": alert.alert_id if alert else None,
            "created_at": now,
            "suppressed_by": suppressed_by,
            # Sent right after this commit (PassCounts.to_send); resent if undelivered.
            "attempts": 0 if suppressed_by else 1,
            "enqueued_at": None if suppressed_by else now,
            "resend_at": None if suppressed_by else now + outbox.resend_after(1),
            "details": {
                "heartbeat_name": service.heartbeat_name,
                "service_name": service.service_name,
                "team": service.team,
                "priority": service.priority,
                "runbook": service.runbook,
                "consecutive_failures": service.consecutive_failures,
                "alert_id": alert.alert_id if alert else None,
                **details,
            },
        }
    )


def _auto_unmute(session: Session, service: ClaimedService) -> None:
    """ALERT_AUTO_UNMUTE_HOURS (or the mute's own duration) is up."""
    muted_until = service.muted_until
    service.muted, service.muted_until, service.mute_reason = False, None, None
    audit.record(
        session,
        SYSTEM,
        "service.auto_unmute",
        "service",
        service.service_id,
        heartbeat_name=service.heartbeat_name,
        muted_until=muted_until.isoformat() if muted_until else None,
    )
