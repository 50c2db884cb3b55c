"""A service goes late, an alert opens once; it beats again, the alert closes once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import Alert, Notification, StateChange
from medic.process import MedicProcess
from tests.support import Clock, RecordingScheduler


def _alerts(medic: MedicProcess) -> list[Alert]:
    with medic.db.session() as session:
        return list(session.exec(select(Alert).order_by(Alert.alert_id)).all())


def _notifications(medic: MedicProcess) -> list[Notification]:
    with medic.db.session() as session:
        return list(session.exec(select(Notification).order_by(Notification.notification_id)))


def test_late_service_opens_one_alert_and_recovery_closes_it(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Callable[..., dict[str, Any]],
    write_headers: dict[str, str],
) -> None:
    register("nightly-backup", alert_interval=1)
    beat = {"heartbeat_name": "nightly-backup", "status": "UP"}
    assert client.post("/v2/heartbeats", json=beat, headers=write_headers).status_code == 201

    assert scheduler.run_pass().opened == 0
    clock.advance(seconds=61)
    assert scheduler.run_pass().opened == 1
    assert scheduler.run_pass().opened == 0
    clock.advance(minutes=3)
    assert scheduler.run_pass().opened == 0

    (alert,) = _alerts(medic)
    assert alert.active and alert.alert_cycle == 4

    assert client.post("/v2/heartbeats", json=beat, headers=write_headers).status_code == 201
    assert scheduler.run_pass().recovered == 1
    (alert,) = _alerts(medic)
    assert not alert.active and alert.closed_date is not None
    kinds = [n.kind for n in _notifications(medic)]
    assert kinds == ["alert.opened", "alert.resolved"]
    assert sorted(set(scheduler.sent)) == [n.notification_id for n in _notifications(medic)]
    with medic.db.session() as session:
        changes = session.exec(select(StateChange).order_by(StateChange.change_id)).all()
    assert [(c.from_state, c.to_state) for c in changes] == [("up", "down"), ("down", "up")]
