"""`postman`, a worker's notification work done inline (route, attempt, retry when
due) without a broker, and `outage`, a service that goes down and recovers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from medic.models import Delivery, DeliveryAttempt
from medic.notify.attempts import Followup, attempt_deliveries
from medic.notify.message import Sender
from medic.notify.planning import plan_notifications
from medic.notify.senders import make_senders
from medic.process import MedicProcess
from tests.support import Clock, RecordingScheduler


class Postman:
    def __init__(self, medic: MedicProcess, scheduler: RecordingScheduler) -> None:
        self.medic = medic
        self.scheduler = scheduler
        self.senders: dict[str, Sender] = make_senders(medic.settings)
        self.followups: list[Followup] = []
        self._planned = 0

    def deliver(self) -> None:
        """Plan what the scheduler sent since the last call, then attempt every
        pending delivery that is due (first_success hand-overs included)."""
        # As a worker does: a notify message's notifications in one transaction.
        plan_notifications(
            self.medic.db,
            self.medic.settings,
            self.scheduler.sent[self._planned :],
            datetime.now(UTC),
        )
        self._planned = len(self.scheduler.sent)
        while due := self.due():
            self.followups.extend(
                attempt_deliveries(self.medic.db, self.senders, self.medic.settings, due)
            )

    def due(self) -> list[int]:
        with self.medic.db.session() as session:
            return list(
                session.exec(
                    select(Delivery.delivery_id)
                    .where(Delivery.status == "pending")
                    .where(col(Delivery.next_attempt_at) <= datetime.now(UTC))
                    .order_by(col(Delivery.delivery_id))
                ).all()
            )

    def deliveries(self) -> list[Delivery]:
        with self.medic.db.session() as session:
            return list(session.exec(select(Delivery).order_by(col(Delivery.delivery_id))).all())

    def attempts(self, delivery_id: int) -> list[DeliveryAttempt]:
        with self.medic.db.session() as session:
            return list(
                session.exec(
                    select(DeliveryAttempt)
                    .where(DeliveryAttempt.delivery_id == delivery_id)
                    .order_by(col(DeliveryAttempt.attempt))
                ).all()
            )


@pytest.fixture
def postman(medic: MedicProcess, scheduler: RecordingScheduler) -> Postman:
    return Postman(medic, scheduler)


@pytest.fixture
def outage(
    client: TestClient,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Callable[..., dict[str, Any]],
    write_headers: dict[str, str],
) -> Callable[..., dict[str, Any]]:
    """Register a service, beat once, let it go late: the alert opens. Returns the
    service; `outage.recover(name)` beats again so the alert closes."""

    def go_down(name: str = "nightly-backup", **fields: Any) -> dict[str, Any]:
        service = register(name, alert_interval=1, **fields)
        beat(name)
        clock.advance(seconds=61)
        assert scheduler.run_pass().opened == 1
        return service

    def beat(name: str) -> None:
        body = {"heartbeat_name": name, "status": "UP"}
        assert client.post("/v2/heartbeats", json=body, headers=write_headers).status_code == 201

    def recover(name: str = "nightly-backup") -> None:
        beat(name)
        assert scheduler.run_pass().recovered == 1

    go_down.recover = recover  # type: ignore[attr-defined]
    return go_down
