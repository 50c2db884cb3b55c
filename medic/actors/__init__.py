"""Dramatiq actors: deliver a notification, run a periodic job.

Actors are declared per broker (`declare_actors`), not at import time on a global
broker, so a process, or a test, chooses its broker explicitly. Every actor is
idempotent: its message carries an id, and a second delivery finds the work done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dramatiq
from dramatiq import Broker

from medic.config import Settings
from medic.db import Database
from medic.detection.periodic import RETENTION
from medic.metrics import NOTIFICATIONS
from medic.notify.outbox import deliver
from medic.ops.retention import purge_heartbeats


@dataclass(frozen=True)
class Actors:
    broker: Broker
    notify: Any
    run_periodic: Any

    def send_notification(self, notification_id: int) -> None:
        self.notify.send(notification_id)

    def send_periodic(self, job: str) -> None:
        self.run_periodic.send(job)


def declare_actors(
    broker: Broker, db: Database, settings: Settings, namespace: str | None = None
) -> Actors:
    """Queues are named after the namespace (MEDIC_BROKER_NAMESPACE), so Medics sharing
    a Redis or RabbitMQ server never take each other's messages."""
    namespace = namespace or settings.medic_broker_namespace

    def notify(notification_id: int) -> None:
        kind = deliver(db, notification_id)
        if kind is not None:
            NOTIFICATIONS.labels(kind).inc()

    def run_periodic(job: str) -> None:
        if job == RETENTION:
            purge_heartbeats(db, settings.heartbeat_retention_days, datetime.now(UTC))

    return Actors(
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
        run_periodic=dramatiq.actor(
            run_periodic,
            broker=broker,
            actor_name="medic_run_periodic",
            queue_name=f"{namespace}.housekeeping",
            max_retries=3,
            time_limit=3_600_000,
        ),
    )
