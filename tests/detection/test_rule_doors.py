"""The detection rules through every door that reads or changes a service: the v2 API
(create, PATCH, clear, refuse with a 400 naming the field), the CLI, MCP's view; and
`state_reason` in each of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medic.ops import services
from medic.ops.actor import cli_operator
from medic.ops.service_commands import RegisterService
from medic.process import MedicProcess
from tests.cli import Run
from tests.mcp.conftest import result
from tests.mcp_client import Connect
from tests.support import Clock, RecordingScheduler

Register = Callable[..., dict[str, Any]]
Headers = dict[str, str]
RULES = (
    "alert_after_failures",
    "recover_after_successes",
    "min_duration_seconds",
    "max_beats",
    "start_grace_seconds",
)
INVALID: list[tuple[dict[str, Any], str]] = [
    ({"alert_after_failures": 0}, "alert_after_failures"),
    ({"alert_after_failures": 1001}, "alert_after_failures"),
    ({"recover_after_successes": 0}, "recover_after_successes"),
    ({"min_duration_seconds": 0}, "min_duration_seconds"),
    ({"min_duration_seconds": 600, "max_duration_seconds": 600}, "min_duration_seconds"),
    ({"max_beats": 3}, "max_beats applies only when schedule_type is window"),
    ({"schedule_type": "window", "threshold": 3, "max_beats": 2}, "max_beats"),
    ({"start_grace_seconds": 60}, "start_grace_seconds must be less than grace_period"),
    ({"start_grace_seconds": 0, "grace_period_seconds": 60}, "start_grace_seconds"),
]


def error_of(response: Any) -> str:
    assert response.status_code == 400, response.text
    return str(response.json()["message"])


def test_rules_contradicting_each_other_or_the_schedule_are_a_400_naming_the_field(
    client: TestClient, admin_headers: Headers, register: Register
) -> None:
    for fields, words in INVALID:
        body = {"heartbeat_name": "nightly-backup", "alert_interval": 5, **fields}
        message = error_of(client.post("/v2/services", json=body, headers=admin_headers))
        assert words in message, (fields, message)
    created = register(schedule_type="window", alert_interval=60, max_beats=4)
    path = f"/v2/services/{created['service_id']}"
    for change, words in [
        ({"schedule_type": "interval"}, "max_beats applies only"),
        ({"alert_after_failures": None}, "alert_after_failures must not be null"),
    ]:
        assert words in error_of(client.patch(path, json=change, headers=admin_headers))


def test_rules_are_set_shown_and_cleared_through_the_v2_api(
    client: TestClient, admin_headers: Headers, read_headers: Headers, register: Register
) -> None:
    created = register(
        alert_after_failures=3,
        recover_after_successes=2,
        min_duration_seconds=1200,
        max_duration_seconds=3600,
        grace_period_seconds=600,
        start_grace_seconds=120,
    )
    assert [created[name] for name in RULES] == [3, 2, 1200, None, 120]
    path = f"/v2/services/{created['service_id']}"
    changed = client.patch(
        path, json={"start_grace_seconds": None, "alert_after_failures": 5}, headers=admin_headers
    )
    assert changed.status_code == 200, changed.text
    shown = client.get(path, headers=read_headers).json()["results"]
    assert [shown[name] for name in RULES] == [5, 2, 1200, None, None]
    assert "state_reason" in shown


def test_the_cli_changes_rules_and_lists_why_a_service_is_in_its_state(
    medic_cli: Run,
    register: Register,
    clock: Clock,
    scheduler: RecordingScheduler,
) -> None:
    register(alert_interval=1)
    out = medic_cli(
        "service",
        "update",
        "nightly-backup",
        "--alert-after-failures",
        "2",
        "--recover-after-successes",
        "3",
        "--min-duration",
        "20m",
    ).output
    assert "alert_after_failures: 2" in out
    assert "min_duration_seconds: 1200" in out
    medic_cli("service", "update", "nightly-backup", "--clear", "min-duration")
    shown = medic_cli("service", "get", "nightly-backup").output
    assert "min_duration_seconds: None" in shown
    assert "recover_after_successes: 3" in shown
    refused = medic_cli("service", "update", "nightly-backup", "--max-beats", "2", code=1)
    assert "max_beats applies only" in refused.output
    clock.advance(minutes=3)
    scheduler.run_pass()
    listed = medic_cli("service", "list").output
    assert "STATE_REASON" in listed and "never sent a heartbeat" in listed


@pytest.mark.anyio
async def test_mcp_shows_the_rules_and_why_a_service_is_in_its_state(
    connect: Connect, make_key: Callable[..., str], medic: MedicProcess
) -> None:
    spec = RegisterService.of(
        heartbeat_name="nightly-backup", alert_interval=1, alert_after_failures=4
    )
    services.register(medic.context(cli_operator()), spec)
    async with connect(make_key("read")) as mcp:
        shown = result(await mcp.call_tool("get_service", {"service": "nightly-backup"}))
    assert shown["alert_after_failures"] == 4
    assert shown["recover_after_successes"] == 1
    assert "state_reason" in shown
