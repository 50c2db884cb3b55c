"""Dependencies in the dashboard: a service's page names what it depends on, and the
alerts page says why an alert was not sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.support import Clock, RecordingScheduler


def test_the_pages_show_dependencies_and_why_an_alert_was_not_sent(
    signed_in: Callable[..., Any],
    register: Callable[..., dict[str, Any]],
    client: TestClient,
    write_headers: dict[str, str],
    clock: Clock,
    scheduler: RecordingScheduler,
) -> None:
    register("db", alert_interval=1)
    api = register("api", alert_interval=1, depends_on=["db"])
    for name in ("db", "api"):
        body = {"heartbeat_name": name, "status": "UP"}
        assert client.post("/v2/heartbeats", json=body, headers=write_headers).status_code == 201
    clock.advance(seconds=61)
    scheduler.run_pass()
    browser = signed_in("read")
    page = browser.get(f"/dashboard/services/{api['service_id']}").text
    assert "Depends on" in page and "db (its alerts are not sent" in page
    alerts = browser.get("/dashboard/alerts").text
    assert "not sent: suppressed: parent &#39;db&#39; is down" in alerts
