"""Attempts at deliveries: claim them, send outside any transaction, record them.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select, update

from medic.config import Settings
from medic.db import Database
from medic.metrics import ALERT_NOTIFICATION_LATENCY, DELIVERIES
from medic.models import Alert, Delivery, DeliveryAttempt, Notification, Service
from medic.notify.message import Message, Outcome, Sender, Target
from medic.notify.snapshot import Snapshots

log = logging.getLogger("medic.notify")

RETRY_DELAYS_SECONDS = (1, 5, 30)
# A message may be handed over a little before its delay is up.
EARLY_TOLERANCE = timedelta(seconds=2)
MAX_ERROR_LENGTH = 1000


@dataclass(frozen=True)
class Followup:
    """What the caller enqueues once a delivery's attempt is recorded."""

    delivery_id: int
    retry_in_seconds: float | None = None
    send_now: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Claim:
    delivery_id: int
    attempt: int
    target: Target
    message: Message


@dataclass(frozen=True)
class _Sent:
    claim: _Claim
    outcome: Outcome
    elapsed: float
    at: datetime


def attempt_deliveries(
    db: Database, senders: Mapping[str, Sender], settings: Settings, delivery_ids: Sequence[int]
) -> list[Followup]:
    """Claim the due ones in one transaction, send them one after another, record them
    all in one: in a burst the worker's CPU per alert is what the alerts queue behind,
    and a delivery claimed and recorded alone cost two transactions and a broker
    message of its own."""
    claims = _claim(db, settings, sorted(set(delivery_ids)), datetime.now(UTC))
    sent = []
    for claim in claims:
        started = time.perf_counter()
        outcome = _send(senders, claim)
        sent.append(_Sent(claim, outcome, time.perf_counter() - started, datetime.now(UTC)))
    if not sent:
        return []
    try:
        return _record(db, sent)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        # A pooled connection that died while idle (the worker does not pre-ping,
        # medic.db.make_engine): record on a fresh one rather than lose sends made.
        return _record(db, sent)


def _claim(
    db: Database, settings: Settings, delivery_ids: Sequence[int], now: datetime
) -> list[_Claim]:
    # Each send may take up to three timeouts (a fallback post, an edit then a post).
    per_send = settings.medic_notify_timeout_seconds * 3
    with db.session() as session:
        # The notifications, services and alerts come with the locked rows, into the
        # identity map, where Snapshots' session.get finds them: one query, not four
        # per delivery. Locked in id order, so concurrent batches take turns.
        rows = session.exec(
            select(Delivery, Notification, Service, Alert)
            .join(Notification, col(Notification.notification_id) == Delivery.notification_id)
            .outerjoin(Service, col(Service.service_id) == Notification.service_id)
            .outerjoin(Alert, col(Alert.alert_id) == Notification.alert_id)
            .where(col(Delivery.delivery_id).in_(delivery_ids))
            .order_by(col(Delivery.delivery_id))
            .with_for_update(of=Delivery)
        ).all()
        snapshots = Snapshots(session, settings)
        claims: list[_Claim] = []
        with session.no_autoflush:  # one batched flush at commit, not one per read
            for delivery, *_ in rows:
                if not _due(delivery, now):
                    continue
                # The batch is sent one after another: a delivery's lease also covers
                # the sends before it.
                lease = timedelta(seconds=per_send * (len(claims) + 1) + 30)
                delivery.attempts += 1
                delivery.next_attempt_at = now + lease
                session.add(delivery)
                assert delivery.delivery_id is not None
                claims.append(
                    _Claim(
                        delivery_id=delivery.delivery_id,
                        attempt=delivery.attempts,
                        target=Target(
                            delivery.target_name, delivery.target_kind, dict(delivery.target_config)
                        ),
                        message=snapshots.message(delivery),
                    )
                )
        return claims


def _due(delivery: Delivery, now: datetime) -> bool:
    """Pending, and not leased to an attempt under way (a duplicate message)."""
    return delivery.status == "pending" and (
        delivery.next_attempt_at is None or delivery.next_attempt_at <= now + EARLY_TOLERANCE
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


def _record(db: Database, sent: Sequence[_Sent]) -> list[Followup]:
    with db.session() as session:
        deliveries = {
            delivery.delivery_id: delivery
            for delivery in session.exec(
                select(Delivery)
                .where(col(Delivery.delivery_id).in_([s.claim.delivery_id for s in sent]))
                .order_by(col(Delivery.delivery_id))
                .with_for_update()
            ).all()
        }
        return [
            _record_one(session, delivery, attempt)
            for attempt in sent
            if (delivery := deliveries.get(attempt.claim.delivery_id)) is not None
        ]


def _record_one(session: Session, delivery: Delivery, sent: _Sent) -> Followup:
    claim, outcome, now = sent.claim, sent.outcome, sent.at
    error = outcome.error[:MAX_ERROR_LENGTH] if outcome.error else None
    session.add(
        DeliveryAttempt(
            delivery_id=claim.delivery_id,
            attempt=claim.attempt,
            attempted_at=now,
            succeeded=outcome.ok,
            status_code=outcome.status_code,
            error=error,
            duration_ms=round(sent.elapsed * 1000, 3),
        )
    )
    delivery.last_status_code = outcome.status_code
    delivery.last_error = error
    followup = Followup(claim.delivery_id)
    if outcome.ok:
        _finish(session, delivery, "sent", now)
        _observe_latency(claim, now)
        delivery.reference = {**delivery.reference, **outcome.reference}
        _remember_external_reference(session, delivery, outcome)
        _skip_standby(session, delivery, now)
    elif outcome.retryable and claim.attempt <= len(RETRY_DELAYS_SECONDS):
        delay = RETRY_DELAYS_SECONDS[claim.attempt - 1]
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        followup = Followup(claim.delivery_id, retry_in_seconds=delay)
    else:
        _finish(session, delivery, "failed", now)
        followup = Followup(claim.delivery_id, send_now=_next_standby(session, delivery, now))
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
