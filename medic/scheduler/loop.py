"""The scheduler: sleeps until the next deadline, then claims what is due.

Each pass claims due services with one indexed query (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, so any number of schedulers split the work and never evaluate one
service twice at once), applies the verdicts of medic.core.detection, opens and
closes maintenance windows, triggers periodic jobs, and relays the outbox. It then
sleeps until the earliest next deadline, at most WORKER_INTERVAL_SECONDS, unless
woken sooner (medic.scheduler.wakeup): a heartbeat or a configuration change that
needs a look now; passes start at least PASS_SPACING_SECONDS apart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlmodel import Session, col, func, or_, select, update

from medic.config import Settings
from medic.core.maintenance import next_transition, occurrence_at
from medic.db import Database
from medic.metrics import SCHEDULER_LAST_PASS, SCHEDULER_PASS_DURATION
from medic.models import AlertReminder, MaintenanceWindow, Notification, PeriodicJob, Service
from medic.playbooks.triggers import Triggers
from medic.scheduler import outbox, periodic
from medic.scheduler.claims import ClaimedService, advance_deadline_checks, due_services
from medic.scheduler.evaluator import PassCounts, evaluate_claimed
from medic.scheduler.reminders import send_due_reminders
from medic.scheduler.silencing import window_rule

log = logging.getLogger(__name__)

# Passes start at least this far apart. A pass costs a few milliseconds of CPU whatever
# it finds (a dozen short transactions: windows, deadlines, reminders, triggers, jobs,
# the outbox); when deadlines fall every few milliseconds (a thousand services due in
# ten seconds), back-to-back passes took most of a core from the workers delivering
# those alerts. Spaced, each pass gathers what fell due meanwhile, at most this late.
# On a slow host such a burst cost the scheduler 4.8-5.0 s of CPU at 50 ms, 3.4-3.7 s
# at 100 ms (bench/alert_latency.py).
PASS_SPACING_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class PassResult:
    evaluated: int
    opened: int
    recovered: int
    windows_changed: int
    sent: int
    seconds: float
    # Of `seconds`, the time spent handing messages to the broker (after the commits).
    send_seconds: float = 0.0


def _look_again_at_down_services(
    session: Session, window: MaintenanceWindow, now: datetime
) -> None:
    """When a window ends, services it silenced that are still down are announced."""
    statement = (
        update(Service)
        .where(col(Service.active))
        .where(col(Service.state) == "down")
        .where(or_(col(Service.check_at).is_(None), col(Service.check_at) > now))
        .values(check_at=now)
    )
    if window.service_ids is not None:
        statement = statement.where(col(Service.service_id).in_(window.service_ids))
    session.exec(statement)  # type: ignore[call-overload]


class Dispatch(Protocol):
    """Where a pass hands its work to workers: the Dramatiq actors (medic.actors.Actors)
    in production; a recorder in tests."""

    def send_notifications(self, notification_ids: Sequence[int]) -> None: ...
    def send_delivery(self, delivery_id: int, delay_seconds: float = 0) -> None: ...
    def send_execution(self, execution_id: int, delay_seconds: float = 0) -> None: ...
    def send_periodic(self, job: str) -> None: ...


class Scheduler:
    def __init__(self, db: Database, settings: Settings, dispatch: Dispatch) -> None:
        self.db = db
        self.settings = settings
        self.dispatch = dispatch
        self.triggers = Triggers(db, settings)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def periodic_schedules(self) -> dict[str, str]:
        schedule = self.settings.medic_retention_schedule
        return {periodic.RETENTION: schedule, periodic.AUDIT_RETENTION: schedule}

    def run_pass(self, now: datetime | None = None) -> PassResult:
        started = time.perf_counter()
        now = now or datetime.now(UTC)
        counts = PassCounts()
        windows_changed = self._maintenance_pass(now)
        batch, sent, send_seconds = self.settings.medic_scheduler_batch_size, 0, 0.0
        while True:
            with self.db.session() as session:
                if advance_deadline_checks(session, now, batch) < batch:
                    break
        while True:
            with self.db.session() as session:
                rows = session.connection().execute(due_services(now, batch)).mappings().all()
                services = [ClaimedService(**row) for row in rows]
                if services:
                    windows = session.exec(
                        select(MaintenanceWindow).where(
                            col(MaintenanceWindow.next_transition_at).is_not(None)
                        )
                    ).all()
                    evaluate_claimed(
                        session, services, now, self.settings.medic_timezone, windows, counts
                    )
            sending = time.perf_counter()
            if counts.to_send:
                self.dispatch.send_notifications(list(counts.to_send))
            send_seconds += time.perf_counter() - sending
            sent += len(counts.to_send)
            counts.to_send.clear()
            if len(services) < batch:
                break
        reminded = send_due_reminders(self.db, now)
        if reminded:
            self.dispatch.send_notifications(reminded)
            sent += len(reminded)
        self.triggers.fire(now)
        for job in periodic.claim_due_jobs(
            self.db, self.periodic_schedules, self.settings.medic_timezone, now
        ):
            self.dispatch.send_periodic(job)
        sent += outbox.relay(self.db, self.dispatch.send_notifications, now)
        outbox.relay_deliveries(self.db, self.dispatch.send_delivery, now)
        outbox.relay_executions(self.db, self.dispatch.send_execution, now)
        seconds = time.perf_counter() - started
        SCHEDULER_PASS_DURATION.observe(seconds)
        SCHEDULER_LAST_PASS.set_to_current_time()
        if counts.opened or counts.recovered or windows_changed:
            log.info(
                "scheduler pass: %d evaluated, %d opened, %d recovered, %d windows changed "
                "in %.1f ms",
                counts.evaluated,
                counts.opened,
                counts.recovered,
                windows_changed,
                seconds * 1000,
            )
        return PassResult(
            counts.evaluated,
            counts.opened,
            counts.recovered,
            windows_changed,
            sent,
            seconds,
            send_seconds,
        )

    def _maintenance_pass(self, now: datetime) -> int:
        """Announce windows that opened or closed; move each to its next transition."""
        with self.db.session() as session:
            windows = session.exec(
                select(MaintenanceWindow)
                .where(col(MaintenanceWindow.next_transition_at) <= now)
                .with_for_update(skip_locked=True)
            ).all()
            for window in windows:
                rule = window_rule(window)
                open_now = occurrence_at(rule, now) is not None
                if open_now != window.in_progress:
                    window.in_progress = open_now
                    if not open_now:
                        _look_again_at_down_services(session, window, now)
                    for service_id, covered in _announcements(session, window):
                        session.add(
                            Notification(
                                kind="maintenance.started" if open_now else "maintenance.ended",
                                window_id=window.window_id,
                                service_id=service_id,
                                created_at=now,
                                details={
                                    "window": window.name,
                                    "reason": window.reason,
                                    "service_ids": covered,
                                },
                            )
                        )
                window.next_transition_at = next_transition(rule, now)
                session.add(window)
            return len(windows)

    def next_wake(self) -> datetime | None:
        """The earliest instant anything is due: a deadline, a check, a window, a reminder,
        a job. One statement: it runs after every pass, up to 10 times a second in a burst."""
        earliest = (
            select(func.min(Service.deadline_check_at))
            .where(col(Service.active))
            .where(col(Service.state) != "down"),
            select(func.min(Service.check_at))
            .where(col(Service.check_at).is_not(None))
            .where(col(Service.active)),
            select(func.min(MaintenanceWindow.next_transition_at)),
            select(func.min(AlertReminder.next_at)),
            select(func.min(PeriodicJob.next_run_at)),
        )
        with self.db.session() as session:
            instants = session.exec(select(*(query.scalar_subquery() for query in earliest))).one()
        return min((i for i in instants if i is not None), default=None)

    def sleep_seconds(self, now: datetime) -> float:
        cap = self.settings.worker_interval_seconds
        wake = self.next_wake()
        if wake is None:
            return cap
        return max(0.0, min(cap, (wake - now).total_seconds()))

    def run_forever(self) -> None:
        """Pass, sleep, repeat, until `stop()`. Errors are logged; the loop goes on."""
        try:
            now = datetime.now(UTC)
            outbox.relay(self.db, self.dispatch.send_notifications, now, everything=True)
            outbox.relay_deliveries(self.db, self.dispatch.send_delivery, now, everything=True)
        except Exception:
            log.exception("could not re-send undelivered notifications at start")
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                self.run_pass()
                delay = self.sleep_seconds(datetime.now(UTC))
            except Exception:
                log.exception("scheduler pass failed; retrying")
                delay = min(self.settings.worker_interval_seconds, 5.0)
            spacing = max(0.0, PASS_SPACING_SECONDS - (time.monotonic() - started))
            if self._stopping.wait(spacing):
                break
            self.db.wakeup.wait(delay - spacing)

    def start(self) -> None:
        """Run the loop in a background thread (`medic up`)."""
        self._thread = threading.Thread(
            target=self.run_forever, name="medic-scheduler", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self.db.wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None


def _announcements(
    session: Session, window: MaintenanceWindow
) -> list[tuple[int | None, list[int] | None]]:
    """Who hears of a window opening or closing: for a window over named services, each
    team of them, routed like that team's alerts (through one of its services); for a
    window over every service, the default routing once."""
    if not window.service_ids:
        return [(None, window.service_ids)]
    teams: dict[str, list[int]] = {}
    for service_id, team in session.exec(
        select(Service.service_id, Service.team)
        .where(col(Service.service_id).in_(window.service_ids))
        .order_by(col(Service.service_id))
    ).all():
        teams.setdefault(team, []).append(service_id)
    return [(ids[0], ids) for ids in teams.values()] or [(None, window.service_ids)]
