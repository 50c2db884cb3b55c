"""Restoring change N makes its object look as it did before N, through the object's own
declared operations (their scopes, validation and audit entries), and is itself a
recorded change naming N. Attacks: a key may restore only what it may change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from medic.models import AuditEntry, NotificationTarget
from medic.process import MedicProcess
from tests.config_history.helpers import HEADER_SECRET, ROUTING_KEY, History


def register(history: History, name: str = "nightly-backup", **fields: Any) -> dict[str, Any]:
    body = {"heartbeat_name": name, "alert_interval": 5, **fields}
    return history.call("POST", "/v2/services", code=201, json=body)["results"]


def test_restoring_an_update_brings_the_old_settings_back(
    admin: History, writer: History, medic: MedicProcess
) -> None:
    service = register(admin, service_name="backups", threshold=1)
    path = f"/v2/services/{service['service_id']}"
    writer.call("PATCH", path, json={"service_name": "oops", "threshold": 3})
    bad = admin.latest(kind="service", action="update")

    restored = writer.restore(bad["change_id"])

    now = admin.call("GET", path)["results"]
    assert (now["service_name"], now["threshold"]) == ("backups", 1)
    change = restored["results"]["change"]
    assert change["restored_from"] == bad["change_id"]
    assert change["before"] == bad["after"] and change["after"] == bad["before"]
    assert change["actor"] == "test-writer"
    assert admin.latest(kind="service")["change_id"] == change["change_id"]
    with medic.db.session() as session:
        audited = session.exec(
            select(AuditEntry.action).order_by(col(AuditEntry.audit_id).desc())
        ).first()
    assert audited == "service.update"
    # Nothing left to undo: restoring the same change again is a conflict, not a no-op.
    writer.restore(bad["change_id"], code=409)


def test_restoring_a_delete_recreates_the_object(admin: History) -> None:
    service = register(admin, service_name="backups", slug="backup")
    admin.call("DELETE", f"/v2/services/{service['service_id']}")
    deleted = admin.latest(kind="service", action="delete")

    restored = admin.restore(deleted["change_id"])["results"]

    assert restored["key"] != str(service["service_id"])
    again = admin.call("GET", f"/v2/services/{restored['key']}")["results"]
    assert (again["heartbeat_name"], again["service_name"], again["slug"]) == (
        "nightly-backup",
        "backups",
        "backup",
    )
    assert restored["change"]["action"] == "create"
    assert restored["change"]["restored_from"] == deleted["change_id"]
    # The name is taken again: a second restore of the same delete cannot recreate it.
    admin.restore(deleted["change_id"], code=409)


def test_a_create_has_nothing_before_it(admin: History) -> None:
    register(admin)
    created = admin.latest(kind="service", action="create")
    body = admin.restore(created["change_id"], code=409)
    assert "nothing before it" in body["message"]


def test_teams_policies_and_windows_come_back(admin: History) -> None:
    admin.call("POST", "/v2/teams", code=201, json={"name": "payments"})
    admin.call("PATCH", "/v2/teams/payments", json={"approvers": ["U0123ABCD"]})
    admin.restore(admin.latest(kind="team", action="update")["change_id"])
    assert admin.call("GET", "/v2/teams/payments")["results"]["approvers"] == []

    rules = [{"targets": ["slack"], "priorities": ["p1"]}]
    admin.call("POST", "/v2/routing-policies", code=201, json={"name": "urgent", "rules": rules})
    admin.call("DELETE", "/v2/routing-policies/urgent")
    admin.restore(admin.latest(kind="routing_policy", action="delete")["change_id"])
    policy = admin.call("GET", "/v2/routing-policies/urgent")["results"]
    assert policy["rules"][0]["priorities"] == ["p1"]

    start = datetime.now(UTC) + timedelta(hours=1)
    window = admin.call(
        "POST",
        "/v2/maintenance-windows",
        code=201,
        json={
            "name": "db upgrade",
            "reason": "v16",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
        },
    )["results"]
    admin.call("DELETE", f"/v2/maintenance-windows/{window['window_id']}")
    restored = admin.restore(admin.latest(kind="maintenance_window")["change_id"])["results"]
    again = admin.call("GET", f"/v2/maintenance-windows/{restored['key']}")["results"]
    assert (again["name"], again["reason"], again["ends_at"]) == (
        "db upgrade",
        "v16",
        window["ends_at"],
    )


def _stored_config(medic: MedicProcess, name: str) -> dict[str, Any]:
    with medic.db.session() as session:
        target = session.exec(
            select(NotificationTarget).where(NotificationTarget.name == name)
        ).one()
        return dict(target.config)


def test_a_target_keeps_its_current_secret_when_it_is_the_one_restored(
    admin: History, medic: MedicProcess
) -> None:
    config = {"url": "https://hooks.example.com/a", "headers": {"Authorization": HEADER_SECRET}}
    admin.call(
        "POST",
        "/v2/notification-targets",
        code=201,
        json={"name": "hook", "kind": "webhook", "config": config},
    )
    admin.call("PATCH", "/v2/notification-targets/hook", json={"enabled": False})
    admin.restore(admin.latest(kind="notification_target")["change_id"])
    assert admin.call("GET", "/v2/notification-targets/hook")["results"]["enabled"] is True
    assert _stored_config(medic, "hook") == config

    # Its secret replaced since: the old one was never stored, so restoring is refused.
    admin.call(
        "PATCH",
        "/v2/notification-targets/hook",
        json={"config": {**config, "headers": {"Authorization": "Bearer n3w-s3cr3t-abcd"}}},
    )
    body = admin.restore(admin.latest(kind="notification_target")["change_id"], code=409)
    assert "config.headers" in body["message"] and "masked" in body["message"]
    assert "s3cr3t" not in body["message"]
    assert _stored_config(medic, "hook")["headers"]["Authorization"] == "Bearer n3w-s3cr3t-abcd"


def test_a_deleted_target_comes_back_unless_it_held_a_secret(admin: History) -> None:
    for name, kind, config in (
        ("ops", "slack", {"channel": "C0123ABCD"}),
        ("pager", "pagerduty", {"routing_key": ROUTING_KEY}),
    ):
        admin.call(
            "POST",
            "/v2/notification-targets",
            code=201,
            json={"name": name, "kind": kind, "config": config},
        )
        admin.call("DELETE", f"/v2/notification-targets/{name}")
    pager, ops = admin.changes(kind="notification_target", action="delete")

    admin.restore(ops["change_id"])
    assert admin.call("GET", "/v2/notification-targets/ops")["results"]["config"] == {
        "channel": "C0123ABCD"
    }
    body = admin.restore(pager["change_id"], code=409)
    assert "config.routing_key" in body["message"]
    admin.call("GET", "/v2/notification-targets/pager", code=404)


def test_a_read_key_cannot_restore(admin: History, reader: History, medic: MedicProcess) -> None:
    service = register(admin, service_name="backups")
    admin.call("PATCH", f"/v2/services/{service['service_id']}", json={"service_name": "x"})
    change = admin.latest(kind="service")

    reader.restore(change["change_id"], code=403)

    assert (
        admin.call("GET", f"/v2/services/{service['service_id']}")["results"]["service_name"] == "x"
    )
    assert admin.latest(kind="service")["change_id"] == change["change_id"]


def test_a_write_key_cannot_restore_what_only_an_admin_may_change(
    admin: History, writer: History, medic: MedicProcess
) -> None:
    admin.call("POST", "/v2/teams", code=201, json={"name": "payments"})
    admin.call("PATCH", "/v2/teams/payments", json={"approvers": ["U0123ABCD"]})
    admin.call(
        "POST",
        "/v2/routing-policies",
        code=201,
        json={"name": "default", "rules": [{"targets": ["slack"]}]},
    )
    admin.call("PATCH", "/v2/routing-policies/default", json={"mode": "first_success"})
    admin.call(
        "POST",
        "/v2/notification-targets",
        code=201,
        json={"name": "ops", "kind": "slack", "config": {"channel": "C0123ABCD"}},
    )
    admin.call("PATCH", "/v2/notification-targets/ops", json={"enabled": False})
    # A service's team decides who approves its playbooks: moving it back is admin too.
    service = register(admin, team="payments")
    admin.call("PATCH", f"/v2/services/{service['service_id']}", json={"team": "platform"})
    count = admin.call("GET", "/v2/config-history")["results"]["total"]

    for kind in ("team", "routing_policy", "notification_target", "service"):
        body = writer.restore(admin.latest(kind=kind, action="update")["change_id"], code=403)
        assert "admin" in body["message"]

    assert admin.call("GET", "/v2/config-history")["results"]["total"] == count
    assert admin.call("GET", "/v2/teams/payments")["results"]["approvers"] == ["U0123ABCD"]
    with medic.db.session() as session:
        refused = session.exec(
            select(AuditEntry.action).where(AuditEntry.outcome == "refused")
        ).all()
    assert refused.count("config.restore") == 3 and "service.update" in refused


def test_unknown_and_out_of_range_changes(admin: History) -> None:
    admin.restore(424242, code=404)
    admin.restore(2**40, code=404)
    admin.call("POST", "/v2/config-history/x/restore", code=400)
    admin.call("POST", "/v2/snapshots/424242/restore", code=404)
