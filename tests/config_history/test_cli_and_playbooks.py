"""`medic history list|show|restore` and `medic playbook restore NAME VERSION`, and
the playbook restore over REST: an old version's YAML applied as a new version."""

from __future__ import annotations

import json

import pytest

from tests.cli import Run
from tests.config_history.helpers import History

PLAYBOOK = """\
name: heal
approval: none
steps:
  - name: pause
    type: wait
    duration: {duration}
"""
YAML = {"Content-Type": "application/yaml"}


@pytest.fixture
def cli_scope() -> str:
    """Restoring teams and playbooks configures trust: the operator holds an admin key."""
    return "admin"


def test_history_list_show_and_restore(medic_cli: Run, admin: History) -> None:
    admin.call("POST", "/v2/teams", code=201, json={"name": "payments"})
    admin.call("PATCH", "/v2/teams/payments", json={"slack_channel_id": "C0123ABCD"})

    listing = medic_cli("history", "list", "--kind", "team").output
    assert "CHANGE_ID" in listing and "payments" in listing and "update" in listing
    changes = json.loads(medic_cli("history", "list", "--kind", "team", "--json").output)
    update = changes[0]
    shown = json.loads(medic_cli("history", "show", str(update["change_id"])).output)
    assert shown["after"]["slack_channel_id"] == "C0123ABCD"

    out = medic_cli("history", "restore", str(update["change_id"])).output
    assert f"before change {update['change_id']}" in out
    assert admin.call("GET", "/v2/teams/payments")["results"]["slack_channel_id"] is None
    latest = admin.latest(kind="team")
    assert latest["restored_from"] == update["change_id"] and latest["front_door"] == "cli"
    assert f"from {update['change_id']}" in medic_cli("history", "list").output

    refused = medic_cli("history", "restore", str(update["change_id"]), code=1).output
    assert "409" in refused
    assert "400" in medic_cli("history", "list", "--since", "yesterday", code=1).output


def _apply(admin: History, duration: str) -> dict[str, object]:
    body = PLAYBOOK.format(duration=duration)
    response = admin.client.post("/v2/playbooks", content=body, headers={**admin.headers, **YAML})
    assert response.status_code in (200, 201), response.text
    return response.json()["results"]


def test_a_playbook_version_is_restored_as_a_new_version(
    medic_cli: Run, admin: History, writer: History, reader: History
) -> None:
    _apply(admin, "1m")
    _apply(admin, "5m")

    for key in (reader, writer):
        key.call("POST", "/v2/playbooks/heal/versions/1/restore", code=403)
    restored = admin.call("POST", "/v2/playbooks/heal/versions/1/restore")["results"]
    assert (restored["version"], restored["changed"]) == (3, True)
    current = admin.call("GET", "/v2/playbooks/heal")["results"]
    assert "duration: 1m" in current["source_yaml"]
    unchanged = admin.call("POST", "/v2/playbooks/heal/versions/1/restore")
    assert unchanged["results"]["changed"] is False

    out = medic_cli("playbook", "restore", "heal", "2").output
    assert "version 2 restored as 4" in out
    assert "duration: 5m" in admin.call("GET", "/v2/playbooks/heal")["results"]["source_yaml"]
    assert "404" in medic_cli("playbook", "restore", "heal", "99", code=1).output
    admin.call("POST", "/v2/playbooks/nope/versions/1/restore", code=404)
