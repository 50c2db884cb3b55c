"""Every change to a service, team, routing policy, notification target or maintenance
window is recorded with its before and after, in the transaction that makes it;
operational state (a mute) is not configuration and is not recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.config_history.helpers import HEADER_SECRET, ROUTING_KEY, History


def actions(history: History, **filters: Any) -> list[str]:
    return [change["action"] for change in history.changes(**filters)]


def test_service_changes_are_recorded_and_a_mute_is_not(admin: History) -> None:
    created = admin.call(
        "POST",
        "/v2/services",
        code=201,
        json={"heartbeat_name": "nightly-backup", "alert_interval": 5},
    )["results"]
    service_id = created["service_id"]
    admin.call("PATCH", f"/v2/services/{service_id}", json={"service_name": "backups"})
    admin.call("POST", f"/v2/services/{service_id}/mute", json={"reason": "deploy"})
    admin.call("DELETE", f"/v2/services/{service_id}")

    changes = admin.changes(kind="service", key=str(service_id))
    assert [c["action"] for c in changes] == ["delete", "update", "create"]
    deleted, updated, registered = changes
    assert registered["before"] is None
    assert registered["after"]["heartbeat_name"] == "nightly-backup"
    assert updated["before"]["service_name"] is None
    assert updated["after"]["service_name"] == "backups"
    assert {"muted", "state", "next_due_at", "uuid"}.isdisjoint(updated["after"])
    assert deleted["before"] == updated["after"] and deleted["after"] is None
    assert registered["actor"] == "test-admin" and registered["front_door"] == "api"


def test_team_changes_are_recorded(admin: History) -> None:
    admin.call("POST", "/v2/teams", code=201, json={"name": "payments"})
    admin.call("PATCH", "/v2/teams/payments", json={"slack_channel_id": "C0123ABCD"})
    admin.call("DELETE", "/v2/teams/payments")

    changes = admin.changes(kind="team", key="payments")
    assert [c["action"] for c in changes] == ["delete", "update", "create"]
    assert changes[1]["before"] == {"name": "payments", "slack_channel_id": None, "approvers": []}
    assert changes[1]["after"]["slack_channel_id"] == "C0123ABCD"


def test_routing_policy_changes_are_recorded(admin: History) -> None:
    rules = [{"targets": ["slack"]}]
    admin.call("POST", "/v2/routing-policies", code=201, json={"name": "default", "rules": rules})
    admin.call("PATCH", "/v2/routing-policies/default", json={"mode": "first_success"})
    admin.call("DELETE", "/v2/routing-policies/default")

    changes = admin.changes(kind="routing_policy")
    assert [c["action"] for c in changes] == ["delete", "update", "create"]
    assert changes[1]["before"]["mode"] == "all"
    assert changes[1]["after"]["mode"] == "first_success"
    assert changes[1]["after"]["rules"][0]["targets"] == ["slack"]


def test_target_changes_are_recorded_with_secrets_masked(admin: History, reader: History) -> None:
    webhook = {
        "url": "https://hooks.example.com/medic",
        "headers": {"Authorization": HEADER_SECRET},
    }
    admin.call(
        "POST",
        "/v2/notification-targets",
        code=201,
        json={"name": "hook", "kind": "webhook", "config": webhook},
    )
    admin.call(
        "POST",
        "/v2/notification-targets",
        code=201,
        json={"name": "pager", "kind": "pagerduty", "config": {"routing_key": ROUTING_KEY}},
    )
    admin.call("PATCH", "/v2/notification-targets/hook", json={"enabled": False})
    admin.call("DELETE", "/v2/notification-targets/pager")

    assert actions(admin, kind="notification_target") == ["delete", "update", "create", "create"]
    listing = reader.call("GET", "/v2/config-history", params={"kind": "notification_target"})
    text = str(listing)
    for secret in (ROUTING_KEY, HEADER_SECRET, "s3cr3t-t0ken"):
        assert secret not in text
    assert "••••" in text
    for change in listing["results"]["items"]:
        one = reader.call("GET", f"/v2/config-history/{change['change_id']}")
        assert ROUTING_KEY not in str(one) and "s3cr3t-t0ken" not in str(one)


def test_maintenance_windows_are_recorded(admin: History) -> None:
    now = datetime.now(UTC)
    window = admin.call(
        "POST",
        "/v2/maintenance-windows",
        code=201,
        json={
            "name": "db upgrade",
            "starts_at": (now + timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat(),
        },
    )["results"]
    admin.call("DELETE", f"/v2/maintenance-windows/{window['window_id']}")

    changes = admin.changes(kind="maintenance_window", key=str(window["window_id"]))
    assert [c["action"] for c in changes] == ["delete", "create"]
    assert changes[0]["before"]["name"] == "db upgrade"


def test_a_refused_change_records_nothing(admin: History, writer: History) -> None:
    admin.call("POST", "/v2/teams", code=201, json={"name": "payments"})
    writer.call("PATCH", "/v2/teams/payments", code=403, json={"slack_channel_id": "C0123ABCD"})
    admin.call("PATCH", "/v2/teams/payments", code=400, json={"slack_channel_id": "#ops"})
    assert actions(admin, kind="team") == ["create"]


def test_filters_and_paging(admin: History) -> None:
    for name in ("a", "b", "c"):
        admin.call("POST", "/v2/teams", code=201, json={"name": name})
    admin.call("PATCH", "/v2/teams/b", json={"approvers": ["U0123ABCD"]})

    assert actions(admin, kind="team", action="update") == ["update"]
    assert [c["key"] for c in admin.changes(kind="team", limit=2)] == ["b", "c"]
    body = admin.call("GET", "/v2/config-history", params={"limit": 1, "offset": 1})
    assert body["results"]["total"] == 4 and body["results"]["items"][0]["key"] == "c"
    assert admin.changes(actor="nobody") == []
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert admin.changes(since=future) == []
    assert len(admin.changes(until=future)) == 4
    # The original Medic's name for the same history.
    assert admin.call("GET", "/v2/snapshots")["results"]["total"] == 4


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "api_key"},
        {"kind": "service'; DROP TABLE config_history; --"},
        {"action": "drop"},
        {"key": "x\x00y"},
        {"key": "k" * 300},
        {"actor": "\x00"},
        {"since": "yesterday"},
        {"since": "2026-11-01T00:00:00"},
        {"limit": "0"},
        {"limit": "100000"},
        {"offset": "-1"},
        {"offset": str(2**70)},
    ],
)
def test_hostile_filters_are_bad_requests(reader: History, params: dict[str, str]) -> None:
    body = reader.call("GET", "/v2/config-history", code=400, params=params)
    assert body["success"] is False and body["message"]


def test_an_unknown_change_is_404(reader: History) -> None:
    reader.call("GET", "/v2/config-history/999999", code=404)
    reader.call("GET", f"/v2/config-history/{2**40}", code=404)
    reader.call("GET", "/v2/config-history/abc", code=400)
