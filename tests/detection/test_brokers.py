"""The broker follows REDIS_URL: in-process when unset, Redis, or RabbitMQ for an
amqp:// URL; the same actors deliver notifications over each."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pika
import pytest
import redis
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.actors.broker import broker_kind
from medic.background_work import BackgroundWork
from medic.config import Settings
from medic.models import HeartbeatEvent, Notification
from medic.process import MedicProcess
from medic.scheduler.periodic import RETENTION
from tests.support import Clock

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"


def _delivered(medic: MedicProcess, notification_id: int) -> bool:
    with medic.db.session() as session:
        row = session.exec(
            select(Notification).where(Notification.notification_id == notification_id)
        ).one()
        return row.delivered_at is not None


@pytest.mark.parametrize(
    ("redis_url", "kind"),
    [
        (None, "in-process"),
        ("redis://127.0.0.1:6379/0", "redis"),
        (RABBITMQ_URL, "rabbitmq"),
    ],
)
def test_a_notification_is_delivered_over_each_broker(
    backend: str,
    medic: MedicProcess,
    make_settings: Callable[..., Settings],
    redis_url: str | None,
    kind: str,
) -> None:
    if backend == "sqlite" and kind != "in-process":
        pytest.skip("shared brokers serve the PostgreSQL deployment")
    settings = make_settings(redis_url=redis_url)
    assert broker_kind(settings) == kind
    with medic.db.session() as session:
        notification = Notification(kind="maintenance.started", created_at=datetime.now(UTC))
        session.add(notification)
        session.flush()
        notification_id = notification.notification_id
    assert notification_id is not None
    namespace = f"medic-test-{uuid.uuid4().hex[:8]}"
    background = BackgroundWork(settings, medic.db, scheduler=False, broker_namespace=namespace)
    background.start()
    try:
        background.actors.send_notifications([notification_id])
        deadline = time.monotonic() + 10
        while not _delivered(medic, notification_id) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _delivered(medic, notification_id)
    finally:
        background.stop()
        _forget(kind, namespace)


def _forget(kind: str, namespace: str) -> None:
    """Remove what the broker left on the shared server."""
    if kind == "redis":
        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        keys = list(client.scan_iter(match=f"{namespace}*"))
        if keys:
            client.delete(*keys)
    elif kind == "rabbitmq":
        with pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL)) as connection:
            channel = connection.channel()
            for queue in ("notify", "housekeeping"):
                for suffix in ("", ".DQ", ".XQ"):
                    channel.queue_delete(f"{namespace}.{queue}{suffix}")


def test_the_retention_job_runs_on_a_worker(
    medic: MedicProcess,
    make_settings: Callable[..., Settings],
    register: Callable[..., Any],
    client: TestClient,
    write_headers: dict[str, str],
    clock: Clock,
) -> None:
    register("nightly-backup", alert_interval=60)
    body = {"heartbeat_name": "nightly-backup", "status": "UP"}
    assert client.post("/v2/heartbeats", json=body, headers=write_headers).status_code == 201
    clock.advance(days=31)
    assert client.post("/v2/heartbeats", json=body, headers=write_headers).status_code == 201
    background = BackgroundWork(make_settings(), medic.db, scheduler=False)
    background.start()
    try:
        background.actors.send_periodic(RETENTION)
        deadline = time.monotonic() + 10
        while _event_count(medic) != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _event_count(medic) == 1
    finally:
        background.stop()


def _event_count(medic: MedicProcess) -> int:
    with medic.db.session() as session:
        return len(session.exec(select(HeartbeatEvent)).all())


def test_a_burst_of_notifications_travels_fifty_to_a_message_and_each_is_planned(
    medic: MedicProcess,
) -> None:
    with medic.db.session() as session:
        burst = [
            Notification(kind="maintenance.started", created_at=datetime.now(UTC))
            for _ in range(120)
        ]
        session.add_all(burst)
        session.flush()
        ids = [n.notification_id for n in burst if n.notification_id is not None]
    background = BackgroundWork(
        medic.settings, medic.db, broker_namespace=f"medic-test-{uuid.uuid4().hex[:8]}"
    )
    queue = background.actors.notify.queue_name
    background.actors.send_notifications(ids)
    assert background.broker.queues[queue].qsize() == 3
    background.start()
    try:
        background.broker.join(queue, timeout=10_000)
        assert all(_delivered(medic, notification_id) for notification_id in ids)
    finally:
        background.stop()
