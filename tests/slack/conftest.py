"""Slack front door fixtures: Medic configured for Slack against the fake Web API, and
`slack`, which sends signed commands and button clicks to the running app."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from medic.bot.app import WORKING
from medic.models import Alert, AuditEntry, Service
from medic.notify.message import AlertFacts, Message, ServiceFacts
from medic.process import MedicProcess
from tests.fakes import slack as fakes
from tests.processes import wait_for

CHANNEL = "C0ALERTS"
ALICE = "U0ALICE"


@pytest.fixture
def extra_settings() -> dict[str, Any]:
    """Parametrize to change a setting for one test, e.g. medic_slack_operators."""
    return {}


@pytest.fixture
def settings_overrides(
    fake_slack: fakes.FakeSlack,
    extra_settings: dict[str, Any],
) -> dict[str, Any]:
    return {
        "slack_signing_secret": fakes.SIGNING_SECRET,
        "slack_api_token": fakes.BOT_TOKEN,
        "slack_api_base_url": fake_slack.base_url,
        "slack_channel_id": CHANNEL,
        "alert_auto_unmute_hours": 24,
        **extra_settings,
    }


class SlackDriver:
    """Slack's side of the conversation: signed POSTs to /slack/events."""

    def __init__(
        self, client: TestClient, signer: fakes.SlackSigner, fake: fakes.FakeSlack
    ) -> None:
        self.client = client
        self.signer = signer
        self.fake = fake
        self._commands = itertools.count(1)

    def post(self, body: str, **signing: Any) -> httpx2.Response:
        return self.client.post(
            "/slack/events", content=body, headers=self.signer.headers(body, **signing)
        )

    def command(self, text: str, user_id: str = ALICE, **signing: Any) -> httpx2.Response:
        body = fakes.command_body(text, user_id=user_id, response_url=self.fake.response_url())
        return self.post(body, **signing)

    def reply(self, text: str, user_id: str = ALICE) -> str:
        """`/medic <text>` and the ephemeral answer Slack would show: the HTTP answer, or,
        when the work took longer than Slack's budget (medic.bot.app: "Working on it…"),
        the answer that follows through the command's response URL."""
        name = f"command-{next(self._commands)}"
        body = fakes.command_body(text, user_id=user_id, response_url=self.fake.response_url(name))
        response = self.post(body)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["response_type"] == "ephemeral"
        if answer["text"] != WORKING:
            return answer["text"]
        late = wait_for(
            "the late answer",
            lambda: [c for c in self.fake.responses() if c.path.endswith(f"/{name}")],
            timeout=15,
        )
        return late[0].body["text"]

    def click(
        self, action_id: str, value: str, user_id: str = ALICE, **message: Any
    ) -> httpx2.Response:
        """A button click on a channel message (`blocks`, `message_ts`, `text`)."""
        body = fakes.block_actions_body(
            action_id,
            value,
            user_id=user_id,
            channel_id=CHANNEL,
            response_url=self.fake.response_url("click"),
            **message,
        )
        response = self.post(body)
        assert response.status_code == 200, response.text
        return response


@pytest.fixture
def slack(
    client: TestClient,
    slack_signer: fakes.SlackSigner,
    fake_slack: fakes.FakeSlack,
) -> SlackDriver:
    return SlackDriver(client, slack_signer, fake_slack)


@pytest.fixture
def open_alert(medic: MedicProcess) -> Callable[[int], int]:
    """Open an alert on a service now (a real row, as detection would write it)."""

    def create(service_id: int) -> int:
        with medic.db.session() as session:
            alert = Alert(service_id=service_id, active=True, alert_name="late heartbeat")
            session.add(alert)
            session.flush()
            assert alert.alert_id is not None
            return alert.alert_id

    return create


@pytest.fixture
def close_alert(medic: MedicProcess) -> Callable[[int], None]:
    def close(alert_id: int) -> None:
        with medic.db.session() as session:
            alert = session.get(Alert, alert_id)
            assert alert is not None
            alert.active, alert.closed_date = False, datetime.now(UTC)
            session.add(alert)

    return close


@pytest.fixture
def audit(medic: MedicProcess) -> Callable[[str], list[AuditEntry]]:
    """The audit entries for one action, oldest first."""

    def entries(action: str) -> list[AuditEntry]:
        with medic.db.session() as session:
            return list(
                session.exec(
                    select(AuditEntry)
                    .where(AuditEntry.action == action)
                    .order_by(col(AuditEntry.audit_id))
                ).all()
            )

    return entries


@pytest.fixture
def fetch(client: TestClient, admin_headers: dict[str, str]) -> Callable[[str], Any]:
    """GET a v2 resource with an admin key; its `results`."""

    def get(path: str) -> Any:
        response = client.get(path, headers=admin_headers)
        assert response.status_code == 200, response.text
        return response.json()["results"]

    return get


@pytest.fixture
def alert_message(medic: MedicProcess) -> Callable[..., Message]:
    """The Message a sender gets for an alert (as the outbox snapshot would build it)."""

    def build(alert_id: int, kind: str = "alert.opened", **fields: Any) -> Message:
        with medic.db.session() as session:
            alert = session.get(Alert, alert_id)
            assert alert is not None
            service = session.get(Service, alert.service_id)
            assert service is not None and service.service_id is not None
        values: dict[str, Any] = {
            "kind": kind,
            "notification_id": 1,
            "created_at": datetime.now(UTC),
            "medic_url": "http://medic.test",
            "service": ServiceFacts(
                service_id=service.service_id,
                heartbeat_name=service.heartbeat_name,
                service_name=service.service_name,
                team=service.team,
                priority=service.priority,
                runbook=service.runbook,
                state="down" if alert.active else "up",
                state_reason="no heartbeat for 5 minutes",
                state_changed_at=alert.created_date,
                muted=service.muted,
            ),
            "alert": AlertFacts(
                alert_id=alert_id,
                alert_name=alert.alert_name,
                alert_cycle=alert.alert_cycle,
                created_date=alert.created_date,
                closed_date=alert.closed_date,
                active=alert.active,
                acknowledged_at=alert.acknowledged_at,
                acknowledged_by=alert.acknowledged_by,
            ),
            "slack_channel": CHANNEL,
        }
        values.update(fields)
        return Message(**values)

    return build


def button(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    """The button `action_id` in a message's blocks."""
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return element
    raise AssertionError(f"no {action_id} button in {blocks}")


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        element["action_id"]
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]
