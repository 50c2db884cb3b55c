"""Retiring a service closes what its alert opened, everywhere it was announced.

A service goes down: Slack gets a message, PagerDuty an incident, a webhook receiver
`alert.opened`. Deactivating or deleting the service (v2, v1: the operation, so every
door) resolves it in all three, saying why, and a deleted service's resolve is planned
before its rows (alerts, notifications, deliveries) are deleted by cascade.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from medic.models import Alert, Delivery, Notification, Service
from medic.notify.pagerduty import dedup_key_for
from medic.process import MedicProcess
from tests.fakes import slack as fakes
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.receiver import Receiver
from tests.postman import Postman
from tests.support import Clock, RecordingScheduler

CHANNEL = "C0ALERTS"
ADMIN = "test-admin"  # the admin key's name (tests/conftest.py): the actor people see


@pytest.fixture
def settings_overrides(
    fake_slack: fakes.FakeSlack, fake_pagerduty: FakePagerDuty
) -> dict[str, Any]:
    return {
        "slack_signing_secret": fakes.SIGNING_SECRET,
        "slack_api_token": fakes.BOT_TOKEN,
        "slack_api_base_url": fake_slack.base_url,
        "slack_channel_id": CHANNEL,
        "pagerduty_routing_key": "R" * 32,
        "pagerduty_base_url": fake_pagerduty.base_url,
        "medic_extra_ca_bundle": fake_pagerduty.ca_path,
        "medic_allowed_webhook_hosts": "127.0.0.1",
    }


@pytest.fixture
def announced(
    medic: MedicProcess,
    client: TestClient,
    admin_headers: dict[str, str],
    outage: Callable[..., dict[str, Any]],
    postman: Postman,
    fake_slack: fakes.FakeSlack,
    fake_pagerduty: FakePagerDuty,
    webhook_receiver: Receiver,
) -> Callable[..., dict[str, Any]]:
    """Route everything to Slack, PagerDuty and a webhook; take a service down and
    deliver its alert to all three. Returns the service with `alert_id` and `ts`."""

    def go_down(name: str = "nightly-backup") -> dict[str, Any]:
        for resource, body in (
            (
                "notification-targets",
                {"name": "ops-hook", "kind": "webhook", "config": {"url": webhook_receiver.url}},
            ),
            (
                "routing-policies",
                {"name": "default", "rules": [{"targets": ["slack", "pagerduty", "ops-hook"]}]},
            ),
        ):
            response = client.post(f"/v2/{resource}", json=body, headers=admin_headers)
            assert response.status_code == 201, response.text
        service = outage(name)
        postman.deliver()
        with medic.db.session() as session:
            alert = session.exec(select(Alert)).one()
        assert fake_pagerduty.actions() == [("trigger", dedup_key_for(alert.alert_id or 0))]
        (posted,) = fake_slack.calls("chat.postMessage")
        assert [r.json["event"] for r in webhook_receiver.requests] == ["alert.opened"]
        ts = next(d.reference["ts"] for d in postman.deliveries() if d.target_kind == "slack")
        return {**service, "alert_id": alert.alert_id, "ts": ts, "channel": posted.body["channel"]}

    return go_down


def _resolved_everywhere(
    service: dict[str, Any],
    why: str,
    fake_slack: fakes.FakeSlack,
    fake_pagerduty: FakePagerDuty,
    webhook_receiver: Receiver,
) -> dict[str, Any]:
    """PagerDuty resolved the incident it triggered, Slack edited (never reposted) the
    alert message to say resolved and why, the webhook got `alert.resolved` for the same
    alert with the reason (the last attempts, when earlier ones failed). Returns the
    webhook body."""
    dedup_key = dedup_key_for(service["alert_id"])
    assert fake_pagerduty.actions() == [("trigger", dedup_key), ("resolve", dedup_key)]
    assert len(fake_slack.calls("chat.postMessage")) == 1, "a resolve edits, never reposts"
    edited = fake_slack.calls("chat.update")[-1]
    assert (edited.body["channel"], edited.body["ts"]) == (service["channel"], service["ts"])
    assert "alert resolved" in str(edited.body["blocks"]) and why in str(edited.body["blocks"])
    assert not any(block["type"] == "actions" for block in edited.body["blocks"])
    assert why in edited.body["text"]
    opened, resolved = (
        r.json for r in webhook_receiver.requests[:: len(webhook_receiver.requests) - 1]
    )
    assert opened["event"] == "alert.opened"
    assert resolved["event"] == "alert.resolved"
    assert resolved["alert"]["alert_id"] == opened["alert"]["alert_id"] == service["alert_id"]
    assert resolved["alert"]["active"] is False and resolved["alert"]["closed_date"]
    assert resolved["details"]["reason"] == why
    assert resolved["summary"] == f"backups: alert resolved, {why}"
    assert "frozen" not in resolved["details"]
    return resolved


@pytest.mark.parametrize("door", ["v2", "v1", "v2, muted after the alert went out"])
def test_deactivating_a_down_service_resolves_its_incident_everywhere(
    door: str,
    medic: MedicProcess,
    client: TestClient,
    admin_headers: dict[str, str],
    announced: Callable[..., dict[str, Any]],
    scheduler: RecordingScheduler,
    postman: Postman,
    fake_slack: fakes.FakeSlack,
    fake_pagerduty: FakePagerDuty,
    webhook_receiver: Receiver,
) -> None:
    service = announced()
    path = f"/v2/services/{service['service_id']}"
    if door.startswith("v2, muted"):
        # A mute silences new noise; it must not leave the incident open.
        muted = client.post(f"{path}/mute", json={"duration": "2h"}, headers=admin_headers)
        assert muted.status_code == 200, muted.text
    if door == "v1":
        answer = client.post("/service/nightly-backup", json={"active": 0}, headers=admin_headers)
        assert answer.status_code == 200, answer.text
        [v1_view] = answer.json()["results"]
        assert (v1_view["active"], v1_view["down"]) == (0, 0)
    else:
        answer = client.patch(path, json={"active": False}, headers=admin_headers)
        assert answer.status_code == 200, answer.text

    why = f"service deactivated by {ADMIN}"
    view = client.get(path, headers=admin_headers).json()["results"]
    # Not `state: down` with `down: false`: a deactivated service has left down.
    assert (view["active"], view["state"], view["down"]) == (False, "up", False)
    assert view["state_reason"] == why
    history = client.get(f"{path}/history", headers=admin_headers).json()["results"]["items"]
    assert (history[0]["from_state"], history[0]["to_state"], history[0]["reason"]) == (
        "down",
        "up",
        why,
    )

    scheduler.run_pass()  # relays the outbox
    postman.deliver()

    resolved = _resolved_everywhere(service, why, fake_slack, fake_pagerduty, webhook_receiver)
    assert resolved["details"]["resolution"] == "deactivated"
    assert resolved["service"]["state"] == "up" and resolved["service"]["state_reason"] == why
    with medic.db.session() as session:
        assert [a.active for a in session.exec(select(Alert))] == [False]
    assert all(d.status == "sent" for d in postman.deliveries())


def test_a_reactivated_service_that_is_still_late_opens_a_new_alert(
    medic: MedicProcess,
    client: TestClient,
    admin_headers: dict[str, str],
    outage: Callable[..., dict[str, Any]],
    scheduler: RecordingScheduler,
    clock: Clock,
) -> None:
    """Left `down` without an open alert, it would stay down unannounced for good."""
    service = outage("nightly-backup")
    path = f"/v2/services/{service['service_id']}"
    assert client.patch(path, json={"active": False}, headers=admin_headers).status_code == 200
    clock.advance(minutes=5)
    assert scheduler.run_pass().evaluated == 0

    assert client.patch(path, json={"active": True}, headers=admin_headers).status_code == 200
    assert scheduler.run_pass().opened == 1

    with medic.db.session() as session:
        assert [a.active for a in session.exec(select(Alert).order_by(col(Alert.alert_id)))] == [
            False,
            True,
        ]
    assert client.get(path, headers=admin_headers).json()["results"]["down"] is True


def test_deleting_a_down_service_resolves_before_its_rows_go(
    medic: MedicProcess,
    client: TestClient,
    admin_headers: dict[str, str],
    announced: Callable[..., dict[str, Any]],
    scheduler: RecordingScheduler,
    postman: Postman,
    fake_slack: fakes.FakeSlack,
    fake_pagerduty: FakePagerDuty,
    webhook_receiver: Receiver,
    clock: Clock,
) -> None:
    service = announced()
    # The first resolve attempt fails everywhere: the retry must still find its delivery.
    fake_pagerduty.answer(500)
    fake_slack.fail("chat.update", "internal_error", times=1)
    webhook_receiver.answer_sequence([500])

    gone = client.delete(f"/v2/services/{service['service_id']}", headers=admin_headers)
    assert gone.status_code == 200, gone.text

    with medic.db.session() as session:
        assert session.exec(select(Service)).all() == []
        assert session.exec(select(Alert)).all() == []
        # The opening's rows went with the service; the resolve, planned, stays.
        (resolve,) = session.exec(select(Notification)).all()
        assert (resolve.kind, resolve.service_id, resolve.alert_id) == (
            "alert.resolved",
            None,
            None,
        )
        planned = session.exec(select(Delivery).order_by(col(Delivery.position))).all()
        assert [(d.target_name, d.status) for d in planned] == [
            ("slack", "pending"),
            ("pagerduty", "pending"),
            ("ops-hook", "pending"),
        ]

    scheduler.run_pass()  # relays the outbox
    postman.deliver()  # the first attempts fail, to be retried in a second
    assert [d.status for d in postman.deliveries()] == ["pending"] * 3
    clock.advance(seconds=1)
    postman.deliver()

    why = f"service deleted by {ADMIN}"
    resolved = _resolved_everywhere(service, why, fake_slack, fake_pagerduty, webhook_receiver)
    assert len(webhook_receiver.requests) == 3 and len(fake_slack.calls("chat.update")) == 2
    assert resolved["details"]["resolution"] == "deleted"
    assert resolved["service"]["state"] == "deleted"
    assert resolved["service"]["service_id"] == service["service_id"]
    assert resolved["service"]["heartbeat_name"] == "nightly-backup"
    assert resolved["links"]["service"] is None, "no link to a service that is gone"
    assert [d.status for d in postman.deliveries()] == ["sent"] * 3


def test_deleting_a_service_whose_alert_was_never_announced_tells_nobody(
    medic: MedicProcess,
    client: TestClient,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    scheduler: RecordingScheduler,
    postman: Postman,
    clock: Clock,
    fake_slack: fakes.FakeSlack,
    fake_pagerduty: FakePagerDuty,
) -> None:
    """Muted before it went down: the opening was recorded, not sent; so is nothing else."""
    service = register("nightly-backup", alert_interval=1)
    path = f"/v2/services/{service['service_id']}"
    assert client.post(f"{path}/mute", json={}, headers=admin_headers).status_code == 200
    clock.advance(seconds=61)
    assert scheduler.run_pass().opened == 1

    assert client.delete(path, headers=admin_headers).status_code == 200
    scheduler.run_pass()
    postman.deliver()

    with medic.db.session() as session:
        assert session.exec(select(Notification)).all() == []
    assert fake_slack.calls("chat.postMessage") == fake_slack.calls("chat.update") == []
    assert fake_pagerduty.actions() == []


def test_a_deleted_services_id_is_not_reused_and_its_job_gets_404(
    client: TestClient,
    admin_headers: dict[str, str],
    write_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
) -> None:
    """A cron wrapper still calling the old id must not start runs on a new service."""
    register("worker-0")
    old = register("worker-1")["service_id"]
    assert client.delete(f"/v2/services/{old}", headers=admin_headers).status_code == 200
    new = register("worker-2")["service_id"]
    assert new > old

    for signal in ("start", "complete", "fail"):
        late = client.post(f"/v2/heartbeat/{old}/{signal}", json={}, headers=write_headers)
        assert late.status_code == 404, late.text
    started = client.post(f"/v2/heartbeat/{new}/start", json={}, headers=write_headers)
    assert started.status_code == 201, started.text
