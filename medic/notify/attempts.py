"""One attempt at one delivery: claim it, send outside any transaction, record it.

Sending happens between two short transactions, never inside one: a slow receiver
must not hold a row lock (or, on SQLite, the whole database). The claim is a lease:
`next_attempt_at` moves past the send's timeout, so a duplicate message arriving
meanwhile finds the delivery not yet due and does nothing; if the process dies
mid-send, the lease runs out and the outbox relay sends the delivery again.

A failed attempt that is worth repeating (a 5xx, a timeout) is retried after 1 s,
5 s and 30 s, then the delivery is marked failed; in `first_success` mode the next
target on standby then gets its turn.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select, update

from medic.config import Settings
from medic.db import Database
from medic.metrics import ALERT_NOTIFICATION_LATENCY, DELIVERIES
from medic.models import Alert, Delivery, DeliveryAttempt, Notification, Service
from medic.notify.message import Message, Outcome, Sender, Target
from medic.notify.snapshot import message_for

log = logging.getLogger("medic.notify")

RETRY_DELAYS_SECONDS = (1, 5, 30)
# A message may be handed over a little before its delay is up.
EARLY_TOLERANCE = timedelta(seconds=2)
MAX_ERROR_LENGTH = 1000


@dataclass(frozen=True)
class Followup:
    """What the caller enqueues once the attempt is recorded."""

    retry_in_seconds: float | None = None
    send_now: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Claim:
    delivery_id: int
    attempt: int
    target: Target
    message: Message


def attempt_delivery(
    db: Database, senders: Mapping[str, Sender], settings: Settings, delivery_id: int
) -> Followup:
    claim = _claim(db, settings, delivery_id, datetime.now(UTC))
    if claim is None:
        return Followup()
    started = time.perf_counter()
    outcome = _send(senders, claim)
    elapsed = time.perf_counter() - started
    try:
        return _record(db, claim, outcome, elapsed, datetime.now(UTC))
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        # A pooled connection that died while idle (the worker does not pre-ping,
        # medic.db.make_engine): record on a fresh one rather than lose a send made.
        return _record(db, claim, outcome, elapsed, datetime.now(UTC))


def _claim(db: Database, settings: Settings, delivery_id: int, now: datetime) -> _Claim | None:
    with db.session() as session:
        # The notification, its service and alert come with the locked row, into the
        # identity map, where message_for's session.get finds them: one query, not four.
        row = session.exec(
            select(Delivery, Notification, Service, Alert)
            .join(Notification, col(Notification.notification_id) == Delivery.notification_id)
            .outerjoin(Service, col(Service.service_id) == Notification.service_id)
            .outerjoin(Alert, col(Alert.alert_id) == Notification.alert_id)
            .where(Delivery.delivery_id == delivery_id)
            .with_for_update(of=Delivery)
        ).first()
        delivery = row[0] if row is not None else None
        if delivery is None or delivery.status != "pending":
            return None
        if (
            delivery.next_attempt_at is not None
            and delivery.next_attempt_at > now + EARLY_TOLERANCE
        ):
            return None
        lease = timedelta(seconds=settings.medic_notify_timeout_seconds * 3 + 30)
        delivery.attempts += 1
        delivery.next_attempt_at = now + lease
        session.add(delivery)
        message = message_for(session, delivery, settings)
        return _Claim(
            delivery_id=delivery_id,
            attempt=delivery.attempts,
            target=Target(delivery.target_name, delivery.target_kind, dict(delivery.target_config)),
            message=message,
        )


def _send(senders: Mapping[str, Sender], claim: _Claim) -> Outcome:
    sender = senders.get(claim.target.kind)
    if sender is None:
        return Outcome.refused(f"no sender for target kind {claim.target.kind!r}")
    try:
        return sender.send(claim.target, claim.message)
    except Exception as exc:  # a sender bug must not lose the delivery's record
        log.exception("sender %s failed", claim.target.kind)
        return Outcome.failed(f"{type(exc).__name__}: {exc}")


def _record(
    db: Database, claim: _Claim, outcome: Outcome, elapsed: float, now: datetime
) -> Followup:
    with db.session() as session:
        delivery = session.exec(
            select(Delivery).where(Delivery.delivery_id == claim.delivery_id).with_for_update()
        ).first()
        if delivery is None:
            return Followup()
        error = outcome.error[:MAX_ERROR_LENGTH] if outcome.error else None
        session.add(
            DeliveryAttempt(
                delivery_id=claim.delivery_id,
                attempt=claim.attempt,
                attempted_at=now,
                succeeded=outcome.ok,
                status_code=outcome.status_code,
                error=error,
                duration_ms=round(elapsed * 1000, 3),
            )
        )
        delivery.last_status_code = outcome.status_code
        delivery.last_error = error
        followup = Followup()
        if outcome.ok:
            _finish(session, delivery, "sent", now)
            _observe_latency(claim, now)
            delivery.reference = {**delivery.reference, **outcome.reference}
            _remember_external_reference(session, delivery, outcome)
            _skip_standby(session, delivery, now)
        elif outcome.retryable and claim.attempt <= len(RETRY_DELAYS_SECONDS):
            delay = RETRY_DELAYS_SECONDS[claim.attempt - 1]
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            followup = Followup(retry_in_seconds=delay)
        else:
            _finish(session, delivery, "failed", now)
            followup = Followup(send_now=_next_standby(session, delivery, now))
        session.add(delivery)
        DELIVERIES.labels(
            delivery.target_kind, "retrying" if delivery.status == "pending" else delivery.status
        ).inc()
        _log(delivery, claim, outcome)
        return followup


def _observe_latency(claim: _Claim, now: datetime) -> None:
    """Deadline → notification: what an operator waits for, detection and delivery both."""
    began = claim.message.details.get("deadline_at")
    if claim.message.kind != "alert.opened" or not isinstance(began, str):
        return
    try:
        deadline = datetime.fromisoformat(began)
    except ValueError:
        return
    if deadline.tzinfo is None:
        deadline = deadline.replace(tzinfo=UTC)
    seconds = max(0.0, (now - deadline).total_seconds())
    ALERT_NOTIFICATION_LATENCY.labels(claim.target.kind).observe(seconds)


def _finish(session: Session, delivery: Delivery, status: str, now: datetime) -> None:
    delivery.status = status
    delivery.finished_at = now
    delivery.next_attempt_at = None


def _remember_external_reference(session: Session, delivery: Delivery, outcome: Outcome) -> None:
    """The seed's alerts.external_reference_id: the PagerDuty incident's dedup_key."""
    dedup_key = outcome.reference.get("dedup_key")
    if delivery.kind == "alert.opened" and delivery.alert_id and dedup_key:
        session.exec(
            update(Alert)
            .where(col(Alert.alert_id) == delivery.alert_id)
            .values(external_reference_id=str(dedup_key))
        )


def _skip_standby(session: Session, delivery: Delivery, now: datetime) -> None:
    if delivery.mode != "first_success":
        return
    session.exec(
        update(Delivery)
        .where(col(Delivery.notification_id) == delivery.notification_id)
        .where(col(Delivery.status) == "standby")
        .values(status="skipped", finished_at=now)
    )


def _next_standby(session: Session, delivery: Delivery, now: datetime) -> list[int]:
    """first_success: this target gave up; hand over to the next one in line."""
    if delivery.mode != "first_success":
        return []
    following = session.exec(
        select(Delivery)
        .where(Delivery.notification_id == delivery.notification_id)
        .where(Delivery.status == "standby")
        .order_by(col(Delivery.position))
        .with_for_update()
    ).first()
    if following is None or following.delivery_id is None:
        return []
    following.status = "pending"
    following.next_attempt_at = now
    session.add(following)
    return [following.delivery_id]


def _log(delivery: Delivery, claim: _Claim, outcome: Outcome) -> None:
    level = logging.INFO if outcome.ok else logging.WARNING
    log.log(
        level,
        "delivery %s (%s to %s %r) attempt %d: %s%s",
        claim.delivery_id,
        delivery.kind,
        delivery.target_kind,
        delivery.target_name,
        claim.attempt,
        delivery.status if delivery.status != "pending" else "will retry",
        f" ({outcome.status_code or ''} {outcome.error})" if not outcome.ok else "",
    )
