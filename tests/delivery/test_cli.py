"""`medic alert list|ack` and `medic notifications` against the real API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.cli import Run
from tests.fakes.receiver import Receiver
from tests.postman import Postman


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"medic_allowed_webhook_hosts": "127.0.0.1"}


@pytest.fixture
def cli_scope() -> str:
    """Creating the target and the policy below is configuring trust: an admin key."""
    return "admin"


def test_an_operator_lists_and_acknowledges_alerts_and_reads_deliveries(
    medic_cli: Run,
    outage: Callable[..., Any],
    postman: Postman,
    webhook_receiver: Receiver,
) -> None:
    medic_cli(
        "target", "create", "hook", "--kind", "webhook", "--set", f"url={webhook_receiver.url}"
    )
    medic_cli("routing", "create", "default", "--rule", '{"targets": ["hook"]}')
    outage("nightly-backup")
    postman.deliver()

    listing = medic_cli("alert", "list").output
    assert "ALERT_ID" in listing and "True" in listing
    assert "acknowledged by operator" in medic_cli("alert", "ack", "1").output
    assert "operator" in medic_cli("alert", "list").output
    assert "404: no alert with id 99" in medic_cli("alert", "ack", "99", code=1).output

    deliveries = medic_cli("notifications").output
    assert "alert.opened" in deliveries and "webhook:hook" in deliveries and "sent" in deliveries
