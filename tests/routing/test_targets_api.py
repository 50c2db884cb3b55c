"""v2 notification targets (SRE-9, SRE-10): config checked per kind when written,
secrets never shown again (not in answers, not in the audit log), a target a policy
names cannot be deleted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medic.models import NotificationTarget
from medic.process import MedicProcess
from tests.routing.helpers import Api

ROUTING_KEY = "R0ut1ngK3yR0ut1ngK3yR0ut1ngK3yZZ"  # 32 characters
HEADER_SECRET = "Bearer s3cr3t-t0ken-wxyz"
DISCORD_TOKEN = "dIsCoRdToKeN-abcdefghijklmnop-1234"
QUERY_SECRET = "q-s3cr3t-value-9876"
SECRETS = (ROUTING_KEY, HEADER_SECRET, "s3cr3t-t0ken", DISCORD_TOKEN, QUERY_SECRET)

VALID = {
    "slack": ({"channel": "C0123ABCD"}, {"channel": "C0123ABCD"}),
    "slack-default-channel": ({}, {}),
    "pagerduty": ({"routing_key": ROUTING_KEY}, {"routing_key": "••••3yZZ"}),
    "pagerduty-global-key": ({}, {}),
    "webhook": (
        {"url": "https://hooks.example.com/medic", "method": "put"},
        {"url": "https://hooks.example.com/medic", "method": "PUT"},
    ),
    "email": ({"to": ["ops@example.com", "Oncall <oncall@example.com>"]}, None),
    "email-one-address": ({"to": "ops@example.com"}, {"to": ["ops@example.com"]}),
    "discord": (
        {"url": f"https://discord.com/api/webhooks/123/{DISCORD_TOKEN}", "username": "Medic"},
        {"url": "https://discord.com/api/webhooks/123/••••1234", "username": "Medic"},
    ),
}


def kind_of(case: str) -> str:
    return case.split("-")[0]


@pytest.mark.parametrize("case", list(VALID))
def test_each_kind_accepts_its_config(api: Api, case: str) -> None:
    config, shown = VALID[case]
    created = api.create(
        "notification-targets", {"name": case, "kind": kind_of(case), "config": config}
    )
    assert created["kind"] == kind_of(case)
    assert created["enabled"] is True
    assert created["config"] == (config if shown is None else shown)


INVALID = [
    ("slack", {"channel": "#ops"}, "not a Slack channel id"),
    ("slack", {"webhook": "https://x"}, "unknown config key for a slack target: webhook"),
    ("pagerduty", {"routing_key": "short"}, "32-character"),
    ("pagerduty", {"routing_key": 12345}, "config.routing_key must be a non-empty string"),
    ("pagerduty", {"service": "x", "severity": "y"}, "unknown config keys"),
    ("webhook", {}, "config.url is required"),
    ("webhook", {"url": "ftp://example.com/x"}, "http or https URL"),
    ("webhook", {"url": "https://"}, "with a host"),
    ("webhook", {"url": "https://x.example", "method": "GET"}, "config.method"),
    ("webhook", {"url": "https://x.example", "headers": ["a"]}, "config.headers must be"),
    ("webhook", {"url": "https://x.example", "headers": {"Content-Type": "x"}}, "set by Medic"),
    ("webhook", {"url": "https://x.example", "headers": {"X-Medic-Event": "x"}}, "set by Medic"),
    ("webhook", {"url": "https://x.example", "headers": {"X-A": "a\r\nb"}}, "line breaks"),
    ("webhook", {"url": "https://x.example", "headers": {"bad name": "x"}}, "not a header name"),
    ("webhook", {"url": "https://x.example", "timeout": 5}, "webhook target: timeout"),
    ("email", {}, "config.to must be a list"),
    ("email", {"to": []}, "config.to must be a list"),
    ("email", {"to": ["not-an-address"]}, "not an email address"),
    ("email", {"to": ["ops@example.com"], "cc": ["x@example.com"]}, "email target: cc"),
    ("discord", {"url": "http://discord.com/api/webhooks/1/t"}, "https URL"),
    ("discord", {}, "config.url is required"),
]


@pytest.mark.parametrize(("kind", "config", "fragment"), INVALID)
def test_a_wrong_config_is_a_400_naming_what_is_wrong(
    api: Api, kind: str, config: dict[str, Any], fragment: str
) -> None:
    body = {"name": "t", "kind": kind, "config": config}
    assert fragment in api.create("notification-targets", body, expect=400)
    assert api.get("notification-targets")["total"] == 0


def test_an_unknown_kind_is_refused(api: Api) -> None:
    body = {"name": "t", "kind": "carrier-pigeon", "config": {}}
    assert "kind" in api.create("notification-targets", body, expect=400)


def _secret_target(api: Api) -> dict[str, Any]:
    config = {
        "url": f"https://user:pa55w0rd@hooks.example.com/medic?token={QUERY_SECRET}&team=ops",
        "headers": {"Authorization": HEADER_SECRET, "X-Short": "abc"},
    }
    return api.create("notification-targets", {"name": "hook", "kind": "webhook", "config": config})


def test_secrets_are_masked_in_every_answer(api: Api, client: TestClient) -> None:
    created = _secret_target(api)
    api.create("notification-targets", {"name": "pager", "kind": "pagerduty", "config": {}})
    api.patch("notification-targets/pager", {"config": {"routing_key": ROUTING_KEY}})
    discord = {"url": f"https://discord.com/api/webhooks/42/{DISCORD_TOKEN}"}
    api.create("notification-targets", {"name": "chat", "kind": "discord", "config": discord})

    assert created["config"]["headers"] == {"Authorization": "••••wxyz", "X-Short": "••••"}
    assert "pa55w0rd" not in created["config"]["url"]
    assert "team=%E2%80%A2%E2%80%A2%E2%80%A2%E2%80%A2" in created["config"]["url"]
    answers = [
        client.get("/v2/notification-targets", headers=api.headers).text,
        client.get("/v2/notification-targets/hook", headers=api.headers).text,
        client.get("/v2/notification-targets/pager", headers=api.headers).text,
        client.get("/v2/notification-targets/chat", headers=api.headers).text,
        client.patch(
            "/v2/notification-targets/hook", json={"enabled": False}, headers=api.headers
        ).text,
        client.get("/v2/audit", headers=api.headers).text,
    ]
    for text in answers:
        for secret in SECRETS:
            assert secret not in text
    assert api.get("notification-targets/pager")["config"] == {"routing_key": "••••3yZZ"}


def test_secrets_are_kept_for_delivery(api: Api, medic: MedicProcess) -> None:
    _secret_target(api)
    with medic.db.session() as session:
        row = session.get(NotificationTarget, api.get("notification-targets/hook")["target_id"])
        assert row is not None
        assert row.config["headers"]["Authorization"] == HEADER_SECRET


def test_a_masked_value_cannot_be_written_back(api: Api) -> None:
    shown = _secret_target(api)["config"]
    message = api.patch("notification-targets/hook", {"config": shown}, expect=400)
    assert "masked" in message


def test_update_switches_a_target_off_and_on(api: Api) -> None:
    api.create("notification-targets", {"name": "pager", "kind": "pagerduty"})
    assert api.patch("notification-targets/pager", {"enabled": False})["enabled"] is False
    assert api.get("notification-targets/pager")["enabled"] is False
    assert api.patch("notification-targets/pager", {"enabled": True})["enabled"] is True


def test_a_new_config_is_checked_and_replaces_the_old_one(api: Api) -> None:
    _secret_target(api)
    message = api.patch("notification-targets/hook", {"config": {"url": "nope"}}, expect=400)
    assert "config.url" in message
    updated = api.patch("notification-targets/hook", {"config": {"url": "https://b.example/x"}})
    assert updated["config"] == {"url": "https://b.example/x"}


def test_changing_the_kind_needs_a_config_for_it(api: Api) -> None:
    _secret_target(api)
    assert "needs a config" in api.patch("notification-targets/hook", {"kind": "email"}, 400)
    changed = api.patch(
        "notification-targets/hook", {"kind": "email", "config": {"to": ["a@example.com"]}}
    )
    assert (changed["kind"], changed["config"]) == ("email", {"to": ["a@example.com"]})


def test_nulls_and_empty_updates_are_refused(api: Api) -> None:
    api.create("notification-targets", {"name": "pager", "kind": "pagerduty"})
    assert "no fields" in api.patch("notification-targets/pager", {}, expect=400)
    for field in ("kind", "config", "enabled"):
        message = api.patch("notification-targets/pager", {field: None}, expect=400)
        assert f"{field} must not be null" in message


def test_duplicates_are_409_and_unknown_names_404(api: Api) -> None:
    api.create("notification-targets", {"name": "pager", "kind": "pagerduty"})
    api.create("notification-targets", {"name": "Pager", "kind": "slack"}, expect=409)
    api.get("notification-targets/nope", expect=404)
    api.patch("notification-targets/nope", {"enabled": False}, expect=404)
    api.delete("notification-targets/nope", expect=404)


def test_a_target_a_policy_names_cannot_be_deleted(api: Api) -> None:
    api.create("notification-targets", {"name": "pager", "kind": "pagerduty"})
    api.create("notification-targets", {"name": "spare", "kind": "pagerduty"})
    for name in ("default", "critical"):
        api.create("routing-policies", {"name": name, "rules": [{"targets": ["pager"]}]})

    message = api.delete("notification-targets/pager", expect=409)
    assert "routing policies 'critical', 'default'" in message

    api.patch("routing-policies/critical", {"rules": [{"targets": ["spare"]}]})
    api.delete("routing-policies/default")
    assert api.delete("notification-targets/pager") == {"name": "pager"}
    api.get("notification-targets/pager", expect=404)


def test_every_change_is_audited_with_secrets_masked(api: Api) -> None:
    _secret_target(api)
    api.patch("notification-targets/hook", {"enabled": False})
    api.delete("notification-targets/hook")

    [created] = api.audit("target.create")
    assert created["target_type"] == "notification_target"
    assert created["details"]["kind"] == "webhook"
    assert created["details"]["config"]["headers"]["Authorization"] == "••••wxyz"
    [updated] = api.audit("target.update")
    assert updated["details"]["before"]["enabled"] is True
    assert updated["details"]["after"]["enabled"] is False
    [deleted] = api.audit("target.delete")
    assert deleted["details"]["name"] == "hook"
    assert not any(secret in json.dumps([created, updated]) for secret in SECRETS)


def test_changing_targets_needs_admin(
    client: TestClient,
    read_headers: dict[str, str],
    write_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    """A target receives alerts: creating one is configuring trust, not operating."""
    body = {"name": "pager", "kind": "pagerduty"}
    for refused in (read_headers, write_headers):
        answer = client.post("/v2/notification-targets", json=body, headers=refused)
        assert answer.status_code == 403
    assert (
        client.post("/v2/notification-targets", json=body, headers=admin_headers).status_code == 201
    )
    assert client.get("/v2/notification-targets/pager", headers=read_headers).status_code == 200
