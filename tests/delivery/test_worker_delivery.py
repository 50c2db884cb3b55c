"""The same delivery through real Dramatiq workers: the notify actor routes, the
deliver actor sends, and a failed attempt comes back as a delayed message."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medic.background_work import BackgroundWork
from medic.config import Settings
from medic.process import MedicProcess
from tests.detection.test_brokers import _forget
from tests.fakes.receiver import Receiver
from tests.postman import Postman
from tests.support import RecordingScheduler


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"medic_allowed_webhook_hosts": "127.0.0.1"}


@pytest.mark.parametrize(
    ("redis_url", "kind"), [(None, "in-process"), ("redis://127.0.0.1:6379/0", "redis")]
)
def test_a_failed_webhook_is_retried_by_the_worker_a_second_later(
    backend: str,
    medic: MedicProcess,
    make_settings: Callable[..., Settings],
    client: TestClient,
    admin_headers: dict[str, str],
    webhook_receiver: Receiver,
    outage: Callable[..., Any],
    scheduler: RecordingScheduler,
    postman: Postman,
    redis_url: str | None,
    kind: str,
) -> None:
    if backend == "sqlite" and kind != "in-process":
        pytest.skip("shared brokers serve the PostgreSQL deployment")
    target = {"name": "hook", "kind": "webhook", "config": {"url": f"{webhook_receiver.url}/h"}}
    policy = {"name": "default", "rules": [{"targets": ["hook"]}]}
    for resource, body in (("notification-targets", target), ("routing-policies", policy)):
        assert client.post(f"/v2/{resource}", json=body, headers=admin_headers).status_code == 201
    webhook_receiver.answer_sequence([500, 200])
    outage("nightly-backup")

    namespace = f"medic-test-{uuid.uuid4().hex[:8]}"
    settings = make_settings(redis_url=redis_url, medic_allowed_webhook_hosts="127.0.0.1")
    background = BackgroundWork(settings, medic.db, scheduler=False, broker_namespace=namespace)
    background.start()
    try:
        for notification_id in scheduler.sent:
            background.actors.send_notifications([notification_id])
        webhook_receiver.wait_for(2, timeout=15)
        deadline = time.monotonic() + 10
        while postman.deliveries()[0].status != "sent" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        background.stop()
        _forget(kind, namespace)

    first, second = webhook_receiver.requests
    assert second.monotonic - first.monotonic >= 0.9
    (delivery,) = postman.deliveries()
    assert delivery.status == "sent" and delivery.attempts == 2
