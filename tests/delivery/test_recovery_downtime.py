"""A recovery says how long the service was down, end to end: in PagerDuty's resolve,
in the summary every channel shows, and as `downtime_seconds` in the webhook body
(tests/notify/test_recovery_downtime.py: each channel's rendering)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import select

from medic.models import Delivery
from medic.notify.snapshot import Snapshots
from medic.process import MedicProcess
from tests.fakes.pagerduty import FakePagerDuty
from tests.postman import Postman
from tests.support import Clock

ROUTING_KEY = "R" * 32
UP_AGAIN = "up again after 1 h 12 min down"


@pytest.fixture
def settings_overrides(fake_pagerduty: FakePagerDuty) -> dict[str, Any]:
    return {
        "pagerduty_routing_key": ROUTING_KEY,
        "pagerduty_base_url": fake_pagerduty.base_url,
        "medic_extra_ca_bundle": fake_pagerduty.ca_path,
    }


def test_a_recovery_says_how_long_the_service_was_down(
    medic: MedicProcess,
    clock: Clock,
    outage: Callable[..., Any],
    postman: Postman,
    fake_pagerduty: FakePagerDuty,
) -> None:
    outage("nightly-backup")
    postman.deliver()
    clock.advance(hours=1, minutes=12)
    outage.recover("nightly-backup")  # type: ignore[attr-defined]
    postman.deliver()

    trigger, resolve = fake_pagerduty.events
    assert resolve["event_action"] == "resolve"
    assert resolve["dedup_key"] == trigger["dedup_key"]
    details = resolve["payload"]["custom_details"]
    assert details["downtime"] == "1 h 12 min"
    assert 72 * 60 <= details["downtime_seconds"] < 73 * 60
    assert UP_AGAIN in resolve["payload"]["summary"]

    with medic.db.session() as session:
        delivery = session.exec(select(Delivery).where(Delivery.kind == "alert.resolved")).one()
        message = Snapshots(session, medic.settings).message(delivery)
    assert message.downtime is not None
    body = message.as_json()
    assert body["summary"] == f"backups recovered: {UP_AGAIN}"
    assert body["downtime_seconds"] == details["downtime_seconds"]
