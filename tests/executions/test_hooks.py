"""An external system starts a playbook with an HMAC-signed request, no API key."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medic.api.v2.hooks import hook_signature
from tests.executions.conftest import SECRETS_KEY
from tests.fakes.receiver import Receiver

HOOK_SECRET = "hook-secret-for-tests"
PLAYBOOK = """
name: smoke-test
approval: none
steps:
  - name: call
    type: webhook
    url: "{url}/smoke"
"""


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "medic_allowed_webhook_hosts": "127.0.0.1",
        "medic_secrets_key": SECRETS_KEY,
        "medic_playbook_hook_secret": HOOK_SECRET,
    }


def signed(
    body: bytes, secret: str = HOOK_SECRET, age: int = 0, playbook: str = "smoke-test"
) -> dict[str, str]:
    """Headers signing `POST /v2/hooks/playbooks/<playbook>` with `body`: the timestamp,
    method, path and body, joined by newlines (docs/webhooks.md)."""
    timestamp = str(int(time.time()) - age)
    path = f"/v2/hooks/playbooks/{playbook}"
    return {
        "X-Medic-Timestamp": timestamp,
        "X-Medic-Signature": hook_signature(secret, timestamp, "POST", path, body),
        "Content-Type": "application/json",
    }


def test_the_signed_string_is_timestamp_method_path_and_body() -> None:
    """What the README and docs/webhooks.md tell clients to sign, byte for byte."""
    body = b'{"service": "worker-1"}'
    message = b"1700000000\nPOST\n/v2/hooks/playbooks/smoke-test\n" + body
    expected = hmac.new(HOOK_SECRET.encode(), message, hashlib.sha256).hexdigest()
    path = "/v2/hooks/playbooks/smoke-test"
    assert hook_signature(HOOK_SECRET, "1700000000", "POST", path, body) == f"sha256={expected}"


def test_a_signed_hook_starts_the_playbook_and_a_bad_one_is_refused(
    client: TestClient,
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    webhook_receiver: Receiver,
) -> None:
    register("worker-1")
    apply_playbook(PLAYBOOK.format(url=webhook_receiver.url))
    body = json.dumps({"service": "worker-1", "reason": "deploy smoke test"}).encode()

    started = client.post("/v2/hooks/playbooks/smoke-test", content=body, headers=signed(body))
    assert started.status_code == 202, started.text
    execution = started.json()["results"]
    assert execution["requested_by"] == "hook:smoke-test" and execution["state"] == "running"

    for headers in (signed(body, secret="wrong"), signed(body, age=301), {}):
        refused = client.post("/v2/hooks/playbooks/smoke-test", content=body, headers=headers)
        assert refused.status_code == 401
    tampered = body.replace(b"worker-1", b"worker-2")
    assert (
        client.post(
            "/v2/hooks/playbooks/smoke-test", content=tampered, headers=signed(body)
        ).status_code
        == 401
    )
    missing = client.post(
        "/v2/hooks/playbooks/nope", content=body, headers=signed(body, playbook="nope")
    )
    assert missing.status_code == 404
    bad = b"not json"
    assert (
        client.post("/v2/hooks/playbooks/smoke-test", content=bad, headers=signed(bad)).status_code
        == 400
    )


@pytest.mark.parametrize("settings_overrides", [{"medic_playbook_hook_secret": None}])
def test_without_a_hook_secret_hooks_are_off_404_saying_what_to_set(
    client: TestClient,
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    webhook_receiver: Receiver,
) -> None:
    """A feature that is off is a route that does not exist, never a 5xx (which says
    "retry" to the caller's monitoring and pages someone)."""
    register("worker-1")
    apply_playbook(PLAYBOOK.format(url=webhook_receiver.url))
    body = json.dumps({"service": "worker-1"}).encode()

    off = client.post("/v2/hooks/playbooks/smoke-test", content=body, headers=signed(body))

    assert off.status_code == 404
    assert "set MEDIC_PLAYBOOK_HOOK_SECRET" in off.json()["message"]
    assert webhook_receiver.requests == []
