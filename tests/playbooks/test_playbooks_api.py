"""v2 playbooks: apply YAML (raw or in JSON) idempotently, one version per change, every
version readable, invalid YAML refused with its line and nothing written, audited."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.playbooks import SEED_EXAMPLE

YAML = {"Content-Type": "application/yaml"}
CHANGED = SEED_EXAMPLE.replace("duration: 30s", "duration: 45s")


class Playbooks:
    """/v2/playbooks with one key; each call states the status it expects."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = self.client.request(method, f"/v2/playbooks{path}", headers=headers, **kwargs)
        assert response.status_code == expect, response.text
        body = response.json()
        assert body["success"] is (expect < 400)
        return body["results"] if expect < 400 else body["message"]

    def apply(self, text: str, expect: int = 201) -> Any:
        return self.call("POST", "", expect, content=text.encode(), headers=YAML)

    def get(self, path: str = "", expect: int = 200, **params: Any) -> Any:
        return self.call("GET", path, expect, params=params)


@pytest.fixture
def api(client: TestClient, admin_headers: dict[str, str]) -> Playbooks:
    """Changing playbooks is configuring trust: an admin key (tests/security/test_scopes.py
    shows a write key cannot)."""
    return Playbooks(client, admin_headers)


def audit(client: TestClient, headers: dict[str, str], action: str) -> list[dict[str, Any]]:
    response = client.get("/v2/audit", params={"action": action}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["results"]["items"]


def test_apply_yaml_body_creates_version_one(api: Playbooks) -> None:
    result = api.apply(SEED_EXAMPLE)
    assert (result["name"], result["version"], result["created"], result["changed"]) == (
        "restart-worker",
        1,
        True,
        True,
    )
    assert result["current_version"] == 1 and result["enabled"] is True
    assert result["trigger"] == {"service_pattern": "worker-*", "consecutive_failures": 3}
    assert (result["approval"], result["steps"]) == ("none", 3)

    shown = api.get("/restart-worker")
    assert shown["source_yaml"] == SEED_EXAMPLE  # exactly as applied
    assert shown["version"] == 1 and len(shown["content_hash"]) == 64
    assert shown["definition"]["steps"][1] == {
        "name": "wait-for-recovery",
        "type": "wait",
        "duration_seconds": 30,
    }
    assert shown["version_created_by"] == "test-admin"


@pytest.mark.parametrize("content_type", ["text/yaml", "text/plain; charset=utf-8"])
def test_other_yaml_content_types(api: Playbooks, content_type: str) -> None:
    result = api.call(
        "POST", "", 201, content=SEED_EXAMPLE.encode(), headers={"Content-Type": content_type}
    )
    assert result["version"] == 1


def test_apply_json_body(api: Playbooks) -> None:
    result = api.call("POST", "", 201, json={"yaml": SEED_EXAMPLE})
    assert (result["name"], result["version"], result["created"]) == ("restart-worker", 1, True)
    assert api.call("POST", "", 200, json={"yaml": SEED_EXAMPLE})["changed"] is False
    assert api.call("POST", "", 400, json={"yaml": SEED_EXAMPLE, "x": 1}) == "unknown field 'x'"
    assert api.call("POST", "", 400, json={}) == "yaml is required"
    assert api.call("POST", "", 400, json=["yaml"]) == "the request body must be a JSON object"


def test_reapplying_the_same_content_keeps_version_one(api: Playbooks) -> None:
    api.apply(SEED_EXAMPLE)
    reformatted = "# reviewed 2026-11-23\n" + SEED_EXAMPLE.replace("    method: POST\n", "")
    result = api.apply(reformatted, expect=200)
    assert (result["version"], result["created"], result["changed"]) == (1, False, False)
    assert api.get("/restart-worker")["source_yaml"] == SEED_EXAMPLE
    assert api.get("/restart-worker/versions")["total"] == 1


def test_a_change_makes_version_two_and_version_one_stays_readable(api: Playbooks) -> None:
    first = api.apply(SEED_EXAMPLE)
    second = api.apply(CHANGED, expect=200)
    assert (second["version"], second["created"], second["changed"]) == (2, False, True)
    assert second["playbook_id"] == first["playbook_id"]

    current = api.get("/restart-worker")
    assert (current["current_version"], current["version"]) == (2, 2)
    assert current["definition"]["steps"][1]["duration_seconds"] == 45
    old = api.get("/restart-worker/versions/1")
    assert (old["current_version"], old["version"]) == (2, 1)
    assert old["source_yaml"] == SEED_EXAMPLE
    assert old["definition"]["steps"][1]["duration_seconds"] == 30

    versions = api.get("/restart-worker/versions")
    assert [(v["version"], v["current"]) for v in versions["items"]] == [(2, True), (1, False)]
    assert versions["items"][0]["content_hash"] != versions["items"][1]["content_hash"]
    # Going back to the first content is a change too: version 3.
    assert api.apply(SEED_EXAMPLE, expect=200)["version"] == 3


def test_invalid_yaml_is_400_naming_the_line_and_writes_nothing(
    client: TestClient, api: Playbooks, admin_headers: dict[str, str]
) -> None:
    broken = SEED_EXAMPLE.replace("type: webhook", "type: http")
    message = api.apply(broken, expect=400)
    assert (
        message == "line 9: steps[0].type: must be one of webhook, script, wait, condition, agent"
    )
    assert api.get()["total"] == 0
    assert api.apply("name: [unclosed\n", expect=400).startswith("line 2:")

    api.apply(SEED_EXAMPLE)
    message = api.apply(CHANGED.replace("${SERVICE_NAME}", "${FOO}"), expect=400)
    assert message.startswith("line 13: steps[0].body.service: unknown variable ${FOO}")
    assert api.get("/restart-worker")["current_version"] == 1
    assert len(audit(client, admin_headers, "playbook.update")) == 0


def test_bodies_that_are_not_a_playbook(api: Playbooks) -> None:
    message = api.call(
        "POST", "", 415, content=b"name: x", headers={"Content-Type": "application/xml"}
    )
    assert "application/yaml" in message
    assert api.call("POST", "", 400, content=b"name: \xff", headers=YAML) == (
        "the playbook must be UTF-8 text"
    )
    assert api.apply("#" * 70_000, expect=400).startswith("line 1: the playbook is 70000 bytes")


def test_read_key_reads_but_cannot_apply_change_or_delete(
    client: TestClient, api: Playbooks, read_headers: dict[str, str]
) -> None:
    api.apply(SEED_EXAMPLE)
    reader = Playbooks(client, read_headers)
    assert "needs the 'admin' scope" in reader.apply(CHANGED, expect=403)
    assert reader.call("PATCH", "/restart-worker", 403, json={"enabled": False})
    assert reader.call("DELETE", "/restart-worker", 403)
    assert reader.get("/restart-worker")["current_version"] == 1
    assert [p["name"] for p in reader.get()["items"]] == ["restart-worker"]
    assert client.get("/v2/playbooks").status_code == 401


def test_changes_are_audited_without_the_yaml(
    client: TestClient, api: Playbooks, admin_headers: dict[str, str]
) -> None:
    secret_header = SEED_EXAMPLE.replace(
        "    method: POST\n",
        "    method: POST\n    headers:\n      Authorization: Bearer ${secrets.RESTART_TOKEN}\n",
    )
    created = api.apply(secret_header)
    api.apply(secret_header, expect=200)  # unchanged: nothing to audit
    api.apply(CHANGED, expect=200)

    (create,) = audit(client, admin_headers, "playbook.create")
    assert (create["actor"], create["target_type"], create["target_id"]) == (
        "test-admin",
        "playbook",
        str(created["playbook_id"]),
    )
    assert create["details"]["name"] == "restart-worker"
    assert create["details"]["version"] == 1
    assert create["details"]["previous_version"] is None
    assert create["details"]["steps"] == [
        "restart-service (webhook)",
        "wait-for-recovery (wait)",
        "verify-heartbeat (condition)",
    ]
    (update,) = audit(client, admin_headers, "playbook.update")
    assert (update["details"]["version"], update["details"]["previous_version"]) == (2, 1)
    assert "RESTART_TOKEN" not in str(create) and "source_yaml" not in str(create)


def test_disable_enable_and_delete(
    client: TestClient, api: Playbooks, admin_headers: dict[str, str]
) -> None:
    api.apply(SEED_EXAMPLE)
    api.apply(CHANGED, expect=200)
    assert api.call("PATCH", "/restart-worker", 200, json={"enabled": False})["enabled"] is False
    assert api.get("/restart-worker")["enabled"] is False
    assert api.apply(CHANGED, expect=200)["enabled"] is False  # applying does not re-enable
    api.call("PATCH", "/restart-worker", 200, json={"enabled": False})  # no change, no entry
    assert api.call("PATCH", "/restart-worker", 200, json={"enabled": True})["enabled"] is True
    assert api.call("PATCH", "/restart-worker", 400, json={"enabled": None})
    renamed = {"enabled": True, "name": "x"}
    assert api.call("PATCH", "/restart-worker", 400, json=renamed) == "unknown field 'name'"
    assert len(audit(client, admin_headers, "playbook.disable")) == 1
    assert len(audit(client, admin_headers, "playbook.enable")) == 1

    assert api.call("DELETE", "/restart-worker", 200) == {"name": "restart-worker"}
    assert api.get("/restart-worker", expect=404) == "no playbook named 'restart-worker'"
    assert api.get("/restart-worker/versions/1", expect=404)
    (deleted,) = audit(client, admin_headers, "playbook.delete")
    archived = deleted["details"]["archived_as"]
    assert deleted["details"] == {
        "name": "restart-worker",
        "versions": 2,
        "archived_as": archived,
        "cancelled_executions": [],
    }
    # Archived, not erased: its versions stay readable under its archived name.
    assert archived.startswith("restart-worker~archived-")
    assert api.get(f"/{archived}/versions/1")["version"] == 1
    # A new playbook of the same name starts again at version 1.
    assert api.apply(SEED_EXAMPLE)["version"] == 1


def test_unknown_playbooks_and_versions_are_404(api: Playbooks) -> None:
    assert api.get("/ghost", expect=404) == "no playbook named 'ghost'"
    assert api.get("/ghost/versions", expect=404) == "no playbook named 'ghost'"
    assert api.call("DELETE", "/ghost", 404)
    api.apply(SEED_EXAMPLE)
    assert api.get("/restart-worker/versions/2", expect=404) == (
        "playbook 'restart-worker' has no version 2"
    )
    assert api.get("/restart-worker/versions/0", expect=404)
    assert api.get("/restart-worker/versions/99999999999", expect=404)
    assert api.get("/restart-worker/versions/latest", expect=400)


def test_list_is_paged_by_name(api: Playbooks) -> None:
    for name in ("charlie", "alpha", "bravo"):
        api.apply(SEED_EXAMPLE.replace("restart-worker", name))
    page = api.get(limit=2)
    assert [p["name"] for p in page["items"]] == ["alpha", "bravo"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert [p["name"] for p in api.get(limit=2, offset=2)["items"]] == ["charlie"]
