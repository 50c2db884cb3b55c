"""Fixtures for executions: webhooks to 127.0.0.1 allowed, a secrets key, and an
execution waiting for approval. Playbook runs themselves are in tests/playbook_runs."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from tests.fakes.receiver import Receiver

SECRETS_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"medic_allowed_webhook_hosts": "127.0.0.1", "medic_secrets_key": SECRETS_KEY}


APPROVAL_PLAYBOOK = """
name: restart-worker
approval: required
steps:
  - name: restart
    type: webhook
    url: "{url}/restart"
"""


@pytest.fixture
def pending(
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    webhook_receiver: Receiver,
) -> int:
    register("worker-1")
    apply_playbook(APPROVAL_PLAYBOOK.format(url=webhook_receiver.url))
    started = execute("restart-worker", service="worker-1")["results"]
    assert started["state"] == "pending_approval" and started["approval_deadline"]
    return int(started["execution_id"])
