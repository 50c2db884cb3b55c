"""The whole loop with the fakes: a heartbeat stops, one Slack message with buttons
and one PagerDuty trigger; someone clicks Mute in Slack; the heartbeat resumes, one
PagerDuty resolve, and the Slack message is edited to show the recovery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import select

from medic.models import Alert, Service
from medic.notify.blocks.alerts import MUTE_ACTION
from medic.process import MedicProcess
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack
from tests.postman import Postman
from tests.slack.conftest import ALICE, CHANNEL, SlackDriver


@pytest.fixture
def extra_settings(fake_pagerduty: FakePagerDuty) -> dict[str, Any]:
    return {
        "pagerduty_routing_key": "R" * 32,
        "pagerduty_base_url": fake_pagerduty.base_url,
        "medic_extra_ca_bundle": fake_pagerduty.ca_path,
    }


def test_heartbeat_stops_slack_and_pagerduty_mute_in_slack_recovery_resolves_and_edits(
    medic: MedicProcess,
    outage: Callable[..., Any],
    postman: Postman,
    slack: SlackDriver,
    fake_slack: FakeSlack,
    fake_pagerduty: FakePagerDuty,
) -> None:
    service = outage("nightly-backup", priority="p2", runbook="https://wiki.example.com/backup")
    postman.deliver()

    (posted,) = fake_slack.calls("chat.postMessage")
    assert posted.body["channel"] == CHANNEL
    buttons = [
        element["text"]["text"]
        for block in posted.body["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert buttons == ["Acknowledge", "Mute 1 h", "Unmute"]
    with medic.db.session() as session:
        alert = session.exec(select(Alert)).one()
    dedup_key = f"medic-alert-{alert.alert_id}"
    assert fake_pagerduty.actions() == [("trigger", dedup_key)]

    ts = next(d.reference["ts"] for d in postman.deliveries() if d.target_kind == "slack")
    slack.click(
        MUTE_ACTION, str(service["service_id"]), message_ts=ts, blocks=posted.body["blocks"]
    )
    fake_slack.wait_for("chat.update")
    with medic.db.session() as session:
        muted = session.get(Service, service["service_id"])
        assert muted is not None and muted.muted
    assert f"Muted by <@{ALICE}>" in str(fake_slack.message(CHANNEL, ts))

    outage.recover("nightly-backup")  # type: ignore[attr-defined]
    postman.deliver()

    assert fake_pagerduty.actions() == [("trigger", dedup_key), ("resolve", dedup_key)]
    assert len(fake_slack.calls("chat.postMessage")) == 1, "recovery edits, never reposts"
    edited = fake_slack.calls("chat.update")[-1]
    assert edited.body["ts"] == ts and edited.body["channel"] == CHANNEL
    assert "recovered" in str(edited.body).lower()
    assert not any(block["type"] == "actions" for block in edited.body["blocks"])
