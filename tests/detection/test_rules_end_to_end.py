"""Detection rules through the real front doors: the HTTP API, a scheduler pass,
and time moved forward by the test clock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from medic.app import create_app
from medic.models import Alert, AuditEntry, HeartbeatEvent, Notification, Service
from medic.notify.planning import plan_deliveries
from medic.ops.retention import purge_heartbeats
from medic.process import MedicProcess
from medic.scheduler import outbox
from medic.scheduler.periodic import AUDIT_RETENTION, RETENTION
from tests.support import Clock, RecordingScheduler
from tests.test_health_metrics import value

Register = Callable[..., dict[str, Any]]


@pytest.fixture
def beat(client: TestClient, write_headers: dict[str, str]) -> Callable[..., None]:
    def send(name: str = "nightly-backup", status: str = "UP", **extra: Any) -> None:
        body = {"heartbeat_name": name, "status": status, **extra}
        answer = client.post("/v2/heartbeats", json=body, headers=write_headers)
        assert answer.status_code == 201, answer.text

    return send


def alerts(medic: MedicProcess) -> list[Alert]:
    with medic.db.session() as session:
        return list(session.exec(select(Alert).order_by(col(Alert.alert_id))))


def notifications(medic: MedicProcess, kind: str | None = None) -> list[Notification]:
    statement = select(Notification).order_by(col(Notification.notification_id))
    if kind is not None:
        statement = statement.where(Notification.kind == kind)
    with medic.db.session() as session:
        return list(session.exec(statement))


def service(medic: MedicProcess, name: str = "nightly-backup") -> Service:
    with medic.db.session() as session:
        return session.exec(select(Service).where(Service.heartbeat_name == name)).one()


def test_never_beaten_service_is_late_once_counted_from_registration(
    medic: MedicProcess, clock: Clock, scheduler: RecordingScheduler, register: Register
) -> None:
    register("nightly-backup", alert_interval=2)
    # The clock keeps ticking: 10 s short of the deadline, so a slow machine cannot pass it.
    clock.advance(seconds=110)
    assert scheduler.run_pass().opened == 0
    clock.advance(seconds=11)
    assert scheduler.run_pass().opened == 1
    for _ in range(3):
        clock.advance(minutes=2)
        scheduler.run_pass()
    assert len(alerts(medic)) == 1
    assert len(notifications(medic, "alert.opened")) == 1
    assert "never sent a heartbeat" in (service(medic).state_reason or "")
    assert service(medic).consecutive_failures == 4


def test_down_status_is_never_proof_of_life(
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Register,
    beat: Callable[..., None],
) -> None:
    register("nightly-backup", alert_interval=1)
    beat()
    beat(status="DOWN")
    assert scheduler.run_pass().opened == 1
    clock.advance(seconds=30)
    beat(status="DOWN")
    assert scheduler.run_pass().recovered == 0
    beat(status="UP")
    assert scheduler.run_pass().recovered == 1
    assert [a.active for a in alerts(medic)] == [False]


def test_threshold_two_needs_two_beats_per_interval(
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Register,
    beat: Callable[..., None],
) -> None:
    register("nightly-backup", alert_interval=2, threshold=2)
    beat()
    clock.advance(seconds=60)
    beat()
    clock.advance(seconds=61)  # the first beat left the window: one beat in the last 2 minutes
    assert scheduler.run_pass().opened == 1
    beat()
    assert scheduler.run_pass().recovered == 1


def test_grace_period_delays_the_alert(
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Register,
    beat: Callable[..., None],
) -> None:
    register("nightly-backup", alert_interval=1, grace_period_seconds=30)
    beat()
    clock.advance(seconds=75)
    assert scheduler.run_pass().opened == 0
    clock.advance(seconds=16)
    assert scheduler.run_pass().opened == 1


def test_cron_schedule_across_a_dst_change_alerts_at_the_local_fire_time(
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Register,
    beat: Callable[..., None],
) -> None:
    """A job due daily at 02:30 New York time; the night of 2027-03-14 has no 02:30
    (clocks jump 02:00 -> 03:00), so that fire is skipped and the next is on the 15th."""
    clock.travel_to("2027-03-13T07:40:00+00:00")  # 02:40 EST on the 13th
    register(
        "nightly-backup",
        schedule_type="cron",
        cron_expression="30 2 * * *",
        timezone="America/New_York",
        alert_interval=1,
    )
    beat()
    due = service(medic).next_due_at
    assert due is not None and due.isoformat() == "2027-03-15T06:30:00+00:00"  # 02:30 EDT
    clock.travel_to("2027-03-15T06:29:00+00:00")
    assert scheduler.run_pass().opened == 0
    clock.travel_to("2027-03-15T06:31:00+00:00")
    assert scheduler.run_pass().opened == 1


def test_configuration_change_moves_the_deadline_at_once(
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Register,
    beat: Callable[..., None],
    client: TestClient,
    admin_headers: dict[str, str],
) -> None:
    created = register("nightly-backup", alert_interval=10)
    beat()
    clock.advance(minutes=2)
    assert scheduler.run_pass().opened == 0
    path = f"/v2/services/{created['service_id']}"
    assert client.patch(path, json={"alert_interval": 1}, headers=admin_headers).status_code == 200
    assert scheduler.run_pass().opened == 1
    assert client.patch(path, json={"alert_interval": 30}, headers=admin_headers).status_code == 200
    assert scheduler.run_pass().recovered == 1


def test_deactivating_a_down_service_closes_its_alert(
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Register,
    client: TestClient,
    admin_headers: dict[str, str],
) -> None:
    created = register("nightly-backup", alert_interval=1)
    clock.advance(seconds=61)
    assert scheduler.run_pass().opened == 1
    path = f"/v2/services/{created['service_id']}"
    assert client.patch(path, json={"active": False}, headers=admin_headers).status_code == 200
    assert [a.active for a in alerts(medic)] == [False]
    clock.advance(minutes=5)
    assert scheduler.run_pass().evaluated == 0


def test_muted_service_does_not_page(
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Register,
    beat: Callable[..., None],
    client: TestClient,
    write_headers: dict[str, str],
) -> None:
    created = register("nightly-backup", alert_interval=1)
    beat()
    mute = {"duration": "2h", "reason": "migrating the backup host"}
    path = f"/v2/services/{created['service_id']}/mute"
    assert client.post(path, json=mute, headers=write_headers).status_code == 200
    clock.advance(seconds=61)
    assert scheduler.run_pass().opened == 1  # state still changes
    (opened,) = notifications(medic, "alert.opened")
    assert opened.suppressed_by is not None and opened.suppressed_by.startswith("muted")
    assert opened.notification_id not in scheduler.sent
    beat()
    assert scheduler.run_pass().recovered == 1
    (resolved,) = notifications(medic, "alert.resolved")
    assert resolved.suppressed_by is not None
    assert scheduler.sent == []


def test_a_service_still_down_when_its_mute_ends_is_announced_then(
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Register,
    beat: Callable[..., None],
    client: TestClient,
    write_headers: dict[str, str],
) -> None:
    created = register("nightly-backup", alert_interval=1)
    beat()
    path = f"/v2/services/{created['service_id']}/mute"
    assert client.post(path, json={"duration": "5m"}, headers=write_headers).status_code == 200
    clock.advance(seconds=61)
    scheduler.run_pass()
    clock.advance(minutes=5)
    scheduler.run_pass()
    assert not service(medic).muted
    silenced, announced = notifications(medic, "alert.opened")
    assert silenced.suppressed_by is not None and announced.suppressed_by is None
    scheduler.run_pass()
    assert len(notifications(medic, "alert.opened")) == 2
    beat()
    scheduler.run_pass()
    (resolved,) = notifications(medic, "alert.resolved")
    assert resolved.suppressed_by is None


def test_unmuting_a_down_service_announces_it(
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Register,
    beat: Callable[..., None],
    client: TestClient,
    write_headers: dict[str, str],
) -> None:
    created = register("nightly-backup", alert_interval=1)
    beat()
    path = f"/v2/services/{created['service_id']}"
    assert client.post(f"{path}/mute", json={}, headers=write_headers).status_code == 200
    clock.advance(seconds=61)
    scheduler.run_pass()
    assert client.post(f"{path}/unmute", headers=write_headers).status_code == 200
    scheduler.run_pass()
    _, announced = notifications(medic, "alert.opened")
    assert announced.notification_id in scheduler.sent


def test_mute_expires_by_itself_and_the_system_records_it(
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Register,
    client: TestClient,
    write_headers: dict[str, str],
) -> None:
    created = register("nightly-backup", alert_interval=60)
    path = f"/v2/services/{created['service_id']}/mute"
    assert client.post(path, json={"duration": "10m"}, headers=write_headers).status_code == 200
    clock.advance(minutes=9)
    scheduler.run_pass()
    assert service(medic).muted
    clock.advance(minutes=2)
    scheduler.run_pass()
    assert not service(medic).muted
    with medic.db.session() as session:
        entries = session.exec(select(AuditEntry).order_by(col(AuditEntry.audit_id))).all()
    actions = [(e.action, e.actor) for e in entries if e.action.startswith("service.")]
    assert actions[-2:] == [("service.mute", "test-writer"), ("service.auto_unmute", "medic")]


def test_default_mute_lasts_alert_auto_unmute_hours(
    medic: MedicProcess, register: Register, client: TestClient, write_headers: dict[str, str]
) -> None:
    created = register("nightly-backup", alert_interval=60)
    path = f"/v2/services/{created['service_id']}/mute"
    assert client.post(path, json={}, headers=write_headers).status_code == 200
    muted = service(medic)
    assert muted.muted_until is not None and muted.date_muted is not None
    assert muted.muted_until - muted.date_muted == timedelta(hours=24)


def test_a_notification_routed_twice_is_routed_once(
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Register,
    caplog: pytest.LogCaptureFixture,
) -> None:
    register("nightly-backup", alert_interval=1)
    clock.advance(seconds=61)
    scheduler.run_pass()
    (opened,) = notifications(medic, "alert.opened")
    assert opened.notification_id is not None
    with caplog.at_level(logging.INFO, logger="medic.notify"):
        for _ in range(2):
            plan_deliveries(medic.db, medic.settings, opened.notification_id, clock.now())
    logged = [r.getMessage() for r in caplog.records if r.name == "medic.notify"]
    assert len(logged) == 1 and '"event": "alert.opened"' in logged[0]
    assert '"heartbeat_name": "nightly-backup"' in logged[0]


def test_undelivered_notifications_are_sent_again_later(
    medic: MedicProcess, clock: Clock, scheduler: RecordingScheduler, register: Register
) -> None:
    register("nightly-backup", alert_interval=1)
    clock.advance(seconds=61)
    scheduler.run_pass()
    (opened,) = notifications(medic, "alert.opened")
    assert scheduler.sent == [opened.notification_id]
    scheduler.run_pass()
    assert scheduler.sent == [opened.notification_id]  # not again at once
    clock.advance(minutes=2)
    scheduler.run_pass()
    assert scheduler.sent == [opened.notification_id] * 2
    assert opened.notification_id is not None
    plan_deliveries(medic.db, medic.settings, opened.notification_id, clock.now())
    clock.advance(hours=2)
    scheduler.run_pass()
    assert len(scheduler.sent) == 2


def test_retention_deletes_only_old_events_in_small_batches(
    medic: MedicProcess, clock: Clock, register: Register, beat: Callable[..., None]
) -> None:
    register("nightly-backup", alert_interval=60)
    for _ in range(5):
        beat()
    clock.advance(days=20)
    beat()
    beat()
    clock.advance(days=11)
    assert purge_heartbeats(medic.db, 30, clock.now(), batch=2) == 5
    with medic.db.session() as session:
        assert len(session.exec(select(HeartbeatEvent)).all()) == 2


def test_retention_is_triggered_once_per_scheduled_time_by_any_number_of_schedulers(
    medic: MedicProcess, clock: Clock, scheduler: RecordingScheduler
) -> None:
    other = RecordingScheduler(medic.db, medic.settings)
    scheduler.run_pass()
    other.run_pass()
    assert scheduler.jobs + other.jobs == []
    clock.advance(days=1)
    scheduler.run_pass()
    other.run_pass()
    assert sorted(scheduler.jobs + other.jobs) == sorted([RETENTION, AUDIT_RETENTION])


def test_a_backlog_waiting_to_be_resent_does_not_hold_back_new_notifications(
    medic: MedicProcess, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "BATCH", 3)
    now = clock.now()
    with medic.db.session() as session:
        for _ in range(4):
            session.add(
                Notification(
                    kind="maintenance.started",
                    attempts=3,
                    enqueued_at=now,
                    resend_at=now + timedelta(minutes=4),
                )
            )
        session.add(Notification(kind="maintenance.ended"))
    sent: list[int] = []
    assert outbox.relay(medic.db, sent.extend, now) == 1
    assert sent == [5]
    assert outbox.relay(medic.db, sent.extend, now, everything=True) == 5


def test_a_service_that_cannot_be_evaluated_does_not_stop_the_others(
    medic: MedicProcess, clock: Clock, scheduler: RecordingScheduler, register: Register
) -> None:
    register("broken", alert_interval=1)
    register("healthy-but-late", alert_interval=1)
    with medic.db.session() as session:
        broken = session.exec(select(Service).where(Service.heartbeat_name == "broken")).one()
        broken.schedule_type, broken.cron_expression = "cron", "not a cron"
        session.add(broken)
    clock.advance(seconds=61)
    first = scheduler.run_pass()
    assert first.opened == 1 and first.evaluated == 1
    assert scheduler.run_pass().evaluated == 0  # not retried in a tight loop
    assert scheduler.sleep_seconds(clock.now()) > 0
    assert service(medic, "healthy-but-late").state == "down"


def test_active_alerts_metric_is_right_after_a_restart(
    medic: MedicProcess, clock: Clock, scheduler: RecordingScheduler, register: Register
) -> None:
    register("nightly-backup", alert_interval=1)
    register("hourly-sync", alert_interval=60)
    clock.advance(seconds=61)
    assert scheduler.run_pass().opened == 1
    restarted = MedicProcess(medic.settings)
    try:
        with TestClient(create_app(medic=restarted)) as fresh:
            assert value(fresh, "medic_alerts_active") == 1
    finally:
        restarted.db.dispose()
