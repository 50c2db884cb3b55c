"""Detection with real threads, processes and brokers.

The embedded `medic up` composition (scheduler thread, Dramatiq worker threads on the
in-process broker), several schedulers and workers sharing Redis and PostgreSQL, and
a `medic worker` process killed in the middle of a message. Every wait polls against a
real-time deadline; nothing sleeps for correctness.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from dramatiq.brokers.redis import RedisBroker
from fastapi.testclient import TestClient
from sqlmodel import col, func, select

from medic.actors import declare_actors
from medic.background_work import BackgroundWork
from medic.config import Settings
from medic.db import Database
from medic.models import Alert, Notification, Service
from medic.process import MedicProcess
from medic.scheduler.loop import Scheduler
from tests.processes import REDIS_URL, Spawn, free_port, wait_for
from tests.support import Clock, Recorder

postgres_only = pytest.mark.parametrize("backend", ["postgres"])


def alerts(medic: MedicProcess) -> list[Alert]:
    with medic.db.session() as session:
        return list(session.exec(select(Alert).order_by(col(Alert.alert_id))))


def notifications(medic: MedicProcess, kind: str | None = None) -> list[Notification]:
    with medic.db.session() as session:
        statement = select(Notification).order_by(col(Notification.notification_id))
        if kind is not None:
            statement = statement.where(Notification.kind == kind)
        return list(session.exec(statement))


def count_down(medic: MedicProcess) -> int:
    with medic.db.session() as session:
        return session.exec(
            select(func.count()).select_from(Service).where(Service.state == "down")
        ).one()


def all_delivered(medic: MedicProcess, kind: str, expected: int) -> list[Notification]:
    rows = notifications(medic, kind)
    if len(rows) == expected and all(row.delivered_at is not None for row in rows):
        return rows
    return []


def deliveries(records: list[logging.LogRecord]) -> Counter[int]:
    """How often `deliver` delivered each notification (it logs one line when it does)."""
    return Counter(
        json.loads(record.getMessage())["notification_id"]
        for record in records
        if record.name == "medic.notify"
    )


@pytest.fixture
def start_background(medic: MedicProcess) -> Iterator[Callable[..., BackgroundWork]]:
    """Start a Background (on its own Database unless given one); all stop at teardown,
    before the `medic` fixture empties the tables."""
    started: list[tuple[BackgroundWork, Database | None]] = []

    def start(settings: Settings, db: Database | None = None, **options: Any) -> BackgroundWork:
        database = db or Database(settings)
        background = BackgroundWork(settings, database, **options)
        started.append((background, None if db else database))
        background.start()
        return background

    yield start
    with ThreadPoolExecutor(max_workers=max(1, len(started))) as pool:
        list(pool.map(lambda pair: pair[0].stop(), started))
    for _, own in started:
        if own is not None:
            own.dispose()


def beat(client: TestClient, headers: dict[str, str], name: str, status: str = "UP") -> None:
    body = {"heartbeat_name": name, "status": status}
    response = client.post("/v2/heartbeats", json=body, headers=headers)
    assert response.status_code == 201, response.text


def test_embedded_up_opens_and_closes_one_alert_within_seconds(
    clock: Clock,
    client: TestClient,
    medic: MedicProcess,
    make_settings: Callable[..., Settings],
    start_background: Callable[..., BackgroundWork],
    register: Callable[..., dict[str, Any]],
    write_headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="medic.notify")
    start_background(make_settings(worker_interval_seconds=0.2), medic.db)
    register("nightly-backup", alert_interval=1)
    beat(client, write_headers, "nightly-backup")

    clock.advance(seconds=60)

    def opened() -> bool:
        active = [alert for alert in alerts(medic) if alert.active]
        return len(active) == 1 and bool(all_delivered(medic, "alert.opened", 1))

    wait_for("one alert open and announced", opened, timeout=2)

    beat(client, write_headers, "nightly-backup")

    def closed() -> bool:
        rows = alerts(medic)
        return any(not a.active for a in rows) and bool(all_delivered(medic, "alert.resolved", 1))

    wait_for("the alert closed and its resolution delivered", closed, timeout=2)
    (alert,) = alerts(medic)
    assert not alert.active and alert.closed_date is not None
    rows = notifications(medic)
    assert [n.kind for n in rows] == ["alert.opened", "alert.resolved"]
    assert {n.alert_id for n in rows} == {alert.alert_id}
    assert deliveries(caplog.records) == {n.notification_id: 1 for n in rows}


def test_failed_heartbeat_alerts_at_once_without_waiting_for_the_interval(
    backend: str,
    client: TestClient,
    medic: MedicProcess,
    make_settings: Callable[..., Settings],
    start_background: Callable[..., BackgroundWork],
    register: Callable[..., dict[str, Any]],
    write_headers: dict[str, str],
) -> None:
    # SQLite: `medic up` shares the API's Database, so its in-process wake-up. PostgreSQL:
    # the scheduler has a Database of its own, as `medic scheduler` would: only the NOTIFY
    # sent by the ingest writer's commit can wake it.
    settings = make_settings(worker_interval_seconds=30)
    start_background(settings, medic.db if backend == "sqlite" else None)
    register("nightly-backup", alert_interval=5)
    beat(client, write_headers, "nightly-backup")
    time.sleep(0.3)  # not for correctness: let the scheduler reach its 30 s sleep first
    assert alerts(medic) == []

    started = time.monotonic()
    beat(client, write_headers, "nightly-backup", status="FAILED")
    wait_for("an alert for the failure", lambda: alerts(medic), timeout=2)
    assert time.monotonic() - started < 2
    (alert,) = alerts(medic)
    assert alert.active


@postgres_only
def test_three_schedulers_and_two_workers_make_one_alert_per_incident(
    redis_namespace: str,
    clock: Clock,
    client: TestClient,
    medic: MedicProcess,
    make_settings: Callable[..., Settings],
    start_background: Callable[..., BackgroundWork],
    register: Callable[..., dict[str, Any]],
    write_headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="medic.notify")
    count = 50
    names = [f"service-{i:02d}" for i in range(count)]
    for name in names:
        register(name, alert_interval=1)
        beat(client, write_headers, name)

    settings = make_settings(redis_url=REDIS_URL, worker_interval_seconds=0.2)
    for _ in range(3):
        start_background(settings, worker=False, scheduler=True, broker_namespace=redis_namespace)
    for _ in range(2):
        start_background(settings, worker=True, scheduler=False, broker_namespace=redis_namespace)

    clock.advance(seconds=61)
    wait_for("every service down", lambda: count_down(medic) == count, timeout=10)
    opened = wait_for(
        "every alert.opened delivered",
        lambda: all_delivered(medic, "alert.opened", count),
        timeout=10,
    )
    rows = alerts(medic)
    assert len(rows) == count and all(alert.active for alert in rows)
    assert len({alert.service_id for alert in rows}) == count
    assert sorted(n.alert_id for n in opened) == sorted(alert.alert_id for alert in rows)

    for name in names:
        beat(client, write_headers, name)
    wait_for("every service up", lambda: count_down(medic) == 0, timeout=10)
    resolved = wait_for(
        "every alert.resolved delivered",
        lambda: all_delivered(medic, "alert.resolved", count),
        timeout=10,
    )
    rows = alerts(medic)
    assert len(rows) == count and not any(alert.active for alert in rows)
    assert sorted(n.alert_id for n in resolved) == sorted(alert.alert_id for alert in rows)
    assert len(notifications(medic)) == 2 * count
    expected = {n.notification_id: 1 for n in [*opened, *resolved]}
    assert deliveries(caplog.records) == expected


def delivered_lines(log: Path, notification_id: int) -> int:
    count = 0
    for line in log.read_text(errors="replace").splitlines():
        if " medic.notify " in line and f'"notification_id": {notification_id},' in line:
            count += 1
    return count


@postgres_only
def test_killing_a_worker_mid_message_loses_nothing(
    client: TestClient,
    medic: MedicProcess,
    settings: Settings,
    register: Callable[..., dict[str, Any]],
    write_headers: dict[str, str],
    redis_namespace: str,
    spawn: Spawn,
    tmp_path: Path,
) -> None:
    # The subprocesses see real time, so nothing here travels: the pass is just run later.
    register("nightly-backup", alert_interval=1)
    beat(client, write_headers, "nightly-backup")
    offline = Scheduler(medic.db, settings, Recorder())
    assert offline.run_pass(datetime.now(UTC) + timedelta(minutes=2)).opened == 1
    (notification,) = notifications(medic, "alert.opened")
    nid = notification.notification_id
    assert nid is not None and notification.delivered_at is None

    worker = spawn("worker", "worker-1")
    with (
        psycopg.connect(settings.libpq_url) as locker,
        psycopg.connect(settings.libpq_url, autocommit=True) as observer,
    ):
        locker.execute("SELECT 1 FROM notifications WHERE notification_id = %s FOR UPDATE", (nid,))
        locker_pid = locker.info.backend_pid
        broker = RedisBroker(url=REDIS_URL, namespace=redis_namespace)
        try:
            declare_actors(broker, medic.db, settings, redis_namespace).send_notifications([nid])
        finally:
            broker.close()

        def blocked() -> bool:
            assert worker.poll() is None, (tmp_path / "worker-1.log").read_text()
            return bool(
                observer.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE %s "
                    "AND %s = ANY(pg_blocking_pids(pid))",
                    ("%FROM notifications%FOR UPDATE%", locker_pid),
                ).fetchall()
            )

        wait_for("the worker blocked on the notification's row lock", blocked, timeout=15)
        worker.kill()
        worker.wait(timeout=5)
        locker.rollback()

    (notification,) = notifications(medic, "alert.opened")
    assert notification.delivered_at is None, "a killed worker cannot have delivered it"

    # Redis keeps the message in the dead worker's acks until its heartbeat times out
    # (a minute); the scheduler's start re-sends every undelivered notification at once.
    metrics_port = free_port()
    spawn("worker", "worker-2", MEDIC_METRICS_PORT=str(metrics_port), HOST="127.0.0.1")
    spawn("scheduler", "scheduler")
    wait_for(
        "the notification delivered after the restart",
        lambda: notifications(medic, "alert.opened")[0].delivered_at is not None,
        # Two fresh processes import Medic and connect first: slow on a loaded machine.
        timeout=30,
    )
    wait_for(
        "the delivery logged",
        lambda: delivered_lines(tmp_path / "worker-2.log", nid) > 0,
        timeout=5,
    )
    assert delivered_lines(tmp_path / "worker-1.log", nid) == 0
    assert delivered_lines(tmp_path / "worker-2.log", nid) == 1

    # What the worker did is on its own /metrics (MEDIC_METRICS_PORT): the API never sees it.
    metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
    assert 'medic_notifications_total{kind="alert.opened"} 1.0' in metrics
