"""Dramatiq actors: route a notification, attempt one delivery, advance a playbook
execution by a step, run a periodic job.

Actors are declared per broker (`declare_actors`), not at import time on a global
broker, so a process, or a test, chooses its broker explicitly. Every actor is
idempotent: its message carries an id, and a second delivery finds the work done.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dramatiq
from dramatiq import Broker

from medic.config import Settings
from medic.db import Database
from medic.notify.attempts import attempt_deliveries
from medic.notify.message import Sender
from medic.notify.planning import Due, plan_deliveries, plan_notifications
from medic.notify.senders import make_senders
from medic.ops.retention import purge_audit_log, purge_heartbeats
from medic.playbooks.engine import advance
from medic.scheduler.periodic import AUDIT_RETENTION, RETENTION

log = logging.getLogger("medic.notify")

NOTIFICATIONS_PER_MESSAGE = 50
# Deliveries a deliver message carries, all to one target (attempt_deliveries).
DELIVERIES_PER_MESSAGE = 25


@dataclass(frozen=True)
class Actors:
    broker: Broker
    notify: Any
    deliver: Any
    run_execution: Any
    run_periodic: Any

    def send_notifications(self, notification_ids: Sequence[int]) -> None:
        """A few messages for many notifications: a burst of 1,000 alerts is 20 round
        trips to the broker, not 1,000, and workers still share the planning."""
        ids = list(notification_ids)
        for start in range(0, len(ids), NOTIFICATIONS_PER_MESSAGE):
            self.notify.send(ids[start : start + NOTIFICATIONS_PER_MESSAGE])

    def send_deliveries(self, due: Sequence[Due]) -> None:
        """Deliveries to attempt now, a message per target (and per
        DELIVERIES_PER_MESSAGE): one target's are sent one after another, so a slow
        target holds back only its own, while workers send to the others."""
        by_target: dict[str, list[int]] = {}
        for delivery_id, target_name in due:
            by_target.setdefault(target_name, []).append(delivery_id)
        for ids in by_target.values():
            for start in range(0, len(ids), DELIVERIES_PER_MESSAGE):
                self.deliver.send(ids[start : start + DELIVERIES_PER_MESSAGE])

    def send_delivery(self, delivery_id: int, delay_seconds: float = 0) -> None:
        self.deliver.send_with_options(args=([delivery_id],), delay=_delay_ms(delay_seconds))

    def send_execution(self, execution_id: int, delay_seconds: float = 0) -> None:
        self.run_execution.send_with_options(args=(execution_id,), delay=_delay_ms(delay_seconds))

    def send_periodic(self, job: str) -> None:
        self.run_periodic.send(job)


def _delay_ms(delay_seconds: float) -> int | None:
    """Dramatiq routes any message with a delay, even 0, through the queue's delay
    queue, where a worker picks it up and enqueues it again: a hop that costs a poll
    and three more broker calls. Work due now goes straight to its queue."""
    delay = int(delay_seconds * 1000)
    return delay if delay > 0 else None


def declare_actors(
    broker: Broker,
    db: Database,
    settings: Settings,
    namespace: str | None = None,
    senders: dict[str, Sender] | None = None,
) -> Actors:
    """Queues are named after the namespace (MEDIC_BROKER_NAMESPACE), so Medics sharing
    a Redis or RabbitMQ server never take each other's messages."""
    namespace = namespace or settings.medic_broker_namespace
    senders = senders if senders is not None else make_senders(settings)

    def notify(notification_ids: list[int] | int) -> None:
        # A bare id is a message from a version that sent one notification per message.
        ids = [notification_ids] if isinstance(notification_ids, int) else notification_ids
        try:
            due = plan_notifications(db, settings, ids, datetime.now(UTC))
        except Exception:
            if len(ids) <= 1:
                raise
            # One at a time, so one notification that cannot be planned holds back
            # none planned before it (the message is retried for the rest).
            log.exception("planning %d notifications together failed", len(ids))
            for notification_id in ids:
                actors.send_deliveries(
                    plan_deliveries(db, settings, notification_id, datetime.now(UTC))
                )
            return
        actors.send_deliveries(due)

    def deliver(delivery_ids: list[int] | int) -> None:
        # A bare id is a message from a version that sent one delivery per message.
        ids = [delivery_ids] if isinstance(delivery_ids, int) else delivery_ids
        try:
            followups = attempt_deliveries(db, senders, settings, ids)
        except Exception:
            if len(ids) <= 1:
                raise
            # A message each, so one delivery that cannot be claimed holds back no other.
            log.exception("attempting %d deliveries together failed", len(ids))
            for delivery_id in ids:
                actors.send_delivery(delivery_id)
            return
        for followup in followups:
            if followup.retry_in_seconds is not None:
                actors.send_delivery(followup.delivery_id, followup.retry_in_seconds)
            for following in followup.send_now:
                actors.send_delivery(following)

    def run_execution(execution_id: int) -> None:
        following = advance(db, settings, execution_id)
        if following.in_seconds is not None:
            actors.send_execution(execution_id, following.in_seconds)

    def run_periodic(job: str) -> None:
        if job == RETENTION:
            purge_heartbeats(db, settings.heartbeat_retention_days, datetime.now(UTC))
        elif job == AUDIT_RETENTION:
            purge_audit_log(db, settings.medic_audit_retention_days, datetime.now(UTC))

    actors = Actors(
        broker=broker,
        notify=dramatiq.actor(
            notify,
            broker=broker,
            actor_name="medic_notify",
            queue_name=f"{namespace}.notify",
            max_retries=20,
            min_backoff=500,
            max_backoff=60_000,
        ),
        deliver=dramatiq.actor(
            deliver,
            broker=broker,
            actor_name="medic_deliver",
            queue_name=f"{namespace}.deliver",
            # Delivery failures are retried by attempt_deliveries at fixed delays; these
            # retries only cover the database being unreachable.
            max_retries=10,
            min_backoff=1000,
            max_backoff=60_000,
            # Never stopped mid-batch (sends made would go unrecorded, and be made again).
            time_limit=int(
                (settings.medic_notify_timeout_seconds * 3 + 1) * DELIVERIES_PER_MESSAGE * 1000
            )
            + 60_000,
        ),
        run_execution=dramatiq.actor(
            run_execution,
            broker=broker,
            actor_name="medic_run_execution",
            queue_name=f"{namespace}.playbooks",
            # A step's own failure is recorded by the engine; these retries only cover
            # the database being unreachable. Scripts may run up to an hour.
            max_retries=10,
            min_backoff=1000,
            max_backoff=60_000,
            time_limit=3_900_000,
        ),
        run_periodic=dramatiq.actor(
            run_periodic,
            broker=broker,
            actor_name="medic_run_periodic",
            queue_name=f"{namespace}.housekeeping",
            max_retries=3,
            time_limit=3_600_000,
        ),
    )
    return actors
