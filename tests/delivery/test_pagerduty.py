"""PagerDuty owns escalation: Medic triggers one incident per alert and resolves it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import select

from medic.models import Alert
from medic.process import MedicProcess
from tests.fakes.pagerduty import FakePagerDuty
from tests.postman import Postman

ROUTING_KEY = "R" * 32


@pytest.fixture
def settings_overrides(fake_pagerduty: FakePagerDuty) -> dict[str, Any]:
    return {
        "pagerduty_routing_key": ROUTING_KEY,
        "pagerduty_base_url": fake_pagerduty.base_url,
        "medic_extra_ca_bundle": fake_pagerduty.ca_path,
    }


def test_an_alert_triggers_one_incident_and_recovery_resolves_it(
    medic: MedicProcess, outage: Callable[..., Any], postman: Postman, fake_pagerduty: FakePagerDuty
) -> None:
    outage("nightly-backup", priority="p1", runbook="https://wiki.example.com/backup")
    postman.deliver()
    with medic.db.session() as session:
        alert = session.exec(select(Alert)).one()
    dedup_key = f"medic-alert-{alert.alert_id}"
    assert fake_pagerduty.actions() == [("trigger", dedup_key)]
    (event,) = fake_pagerduty.events
    assert event["routing_key"] == ROUTING_KEY
    assert event["payload"]["severity"] == "critical"
    assert event["payload"]["source"] == "nightly-backup"
    assert event["payload"]["summary"].startswith("backups is DOWN")
    assert event["payload"]["custom_details"]["alert_id"] == alert.alert_id
    assert {link["text"]: link["href"] for link in event["links"]} == {
        "Service in Medic": "http://medic.test/v2/services/1",
        "Runbook": "https://wiki.example.com/backup",
    }
    assert alert.external_reference_id == dedup_key

    outage.recover("nightly-backup")  # type: ignore[attr-defined]
    postman.deliver()
    assert fake_pagerduty.actions() == [("trigger", dedup_key), ("resolve", dedup_key)]
    assert [d.status for d in postman.deliveries()] == ["sent", "sent"]


def test_pagerduty_answering_500_is_retried_then_delivered(
    outage: Callable[..., Any], postman: Postman, fake_pagerduty: FakePagerDuty, clock: Any
) -> None:
    fake_pagerduty.answer(500)
    outage("nightly-backup")
    postman.deliver()
    (delivery,) = postman.deliveries()
    assert delivery.status == "pending" and delivery.last_status_code == 500
    clock.advance(seconds=1)
    postman.deliver()
    assert [a.status_code for a in postman.attempts(delivery.delivery_id)] == [500, 202]
    assert fake_pagerduty.actions()[0][0] == "trigger"


def test_an_event_pagerduty_rejects_is_not_retried(
    outage: Callable[..., Any], postman: Postman, fake_pagerduty: FakePagerDuty
) -> None:
    fake_pagerduty.answer(400)
    outage("nightly-backup")
    postman.deliver()
    (delivery,) = postman.deliveries()
    assert delivery.status == "failed" and delivery.attempts == 1
    assert "refused" in (delivery.last_error or "")


def test_an_approval_request_for_an_alert_adds_its_link_to_the_incident(
    client: Any,
    admin_headers: dict[str, str],
    outage: Callable[..., Any],
    postman: Postman,
    fake_pagerduty: FakePagerDuty,
) -> None:
    playbook = """
name: restart-worker
trigger:
  service_pattern: "worker-*"
approval: required
steps:
  - name: settle
    type: wait
    duration: 1s
"""
    response = client.post(
        "/v2/playbooks",
        content=playbook,
        headers={**admin_headers, "Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    outage("worker-1")
    postman.deliver()

    (opened, approval) = fake_pagerduty.events
    assert approval["dedup_key"] == opened["dedup_key"], "the same incident, not a new one"
    assert approval["payload"]["summary"].startswith("Approval needed: run playbook")
    (link,) = [link for link in approval["links"] if link["text"] == "Approve or decline"]
    assert re.fullmatch(r"http://medic\.test/dashboard/executions/\d+", link["href"])
    landing = client.get(link["href"].removeprefix("http://medic.test"), follow_redirects=False)
    assert landing.status_code == 303  # a person signs in, then lands on the execution
    assert "/dashboard/sign-in?next=%2Fdashboard%2Fexecutions%2F" in landing.headers["location"]
