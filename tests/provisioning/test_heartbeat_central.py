"""Heartbeat Central compatibility: its heartbeat URL and `/api/applications`, with its
field names, status codes and `{"error": ...}` bodies, mapped onto services. Medic's
difference: the management API needs a key (Heartbeat Central's is open)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient

from medic.process import MedicProcess
from tests.conftest import auth

FIELDS = {
    "id",
    "uuid",
    "name",
    "expected_interval",
    "grace_period",
    "last_heartbeat",
    "is_active",
    "created_at",
    "updated_at",
}


def create(client: TestClient, headers: dict[str, str], **body: object) -> dict:
    response = client.post("/api/applications", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_list_get_update_delete(
    client: TestClient, write_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    app = create(client, write_headers, name="web", expected_interval=300, grace_period=60)
    assert set(app) == FIELDS
    assert (app["name"], app["expected_interval"], app["grace_period"]) == ("web", 300, 60)
    assert app["is_active"] is True and app["last_heartbeat"] is None

    listed = client.get("/api/applications", headers=write_headers)
    assert listed.status_code == 200 and [a["id"] for a in listed.json()] == [app["id"]]

    one = client.get(f"/api/applications/{app['id']}", headers=write_headers).json()
    assert set(one) == FIELDS | {"is_overdue", "recent_heartbeats"}
    assert one["is_overdue"] is False and one["recent_heartbeats"] == []

    updated = client.put(
        f"/api/applications/{app['id']}",
        json={"expected_interval": 90, "is_active": False},
        headers=write_headers,
    )
    assert updated.status_code == 200, updated.text
    # Medic counts intervals in whole minutes: 90 s is rounded up to 2 minutes.
    assert (updated.json()["expected_interval"], updated.json()["is_active"]) == (120, False)

    assert client.delete(f"/api/applications/{app['id']}", headers=write_headers).status_code == 403
    deleted = client.delete(f"/api/applications/{app['id']}", headers=admin_headers)
    assert (deleted.status_code, deleted.content) == (204, b"")
    missing = client.get(f"/api/applications/{app['id']}", headers=write_headers)
    assert (missing.status_code, missing.json()) == (404, {"error": "Application not found"})


def test_heartbeat_url_and_history(client: TestClient, write_headers: dict[str, str]) -> None:
    app = create(client, write_headers, name="worker", expected_interval=60)
    for _ in range(3):
        response = client.post(f"/heartbeat/{app['uuid']}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["status"], body["application"]) == ("ok", "worker") and body["timestamp"]

    history = client.get(
        f"/api/applications/{app['id']}/heartbeats?per_page=2&page=1", headers=write_headers
    ).json()
    assert set(history) == {"heartbeats", "total", "pages", "current_page"}
    assert (history["total"], history["pages"], history["current_page"]) == (3, 2, 1)
    assert set(history["heartbeats"][0]) == {"id", "application_id", "received_at"}
    assert history["heartbeats"][0]["application_id"] == app["id"]
    one = client.get(f"/api/applications/{app['id']}", headers=write_headers).json()
    assert len(one["recent_heartbeats"]) == 3 and one["last_heartbeat"] is not None


def test_heartbeat_errors_in_heartbeat_centrals_shape(
    client: TestClient, write_headers: dict[str, str]
) -> None:
    unknown = client.post(f"/heartbeat/{uuid.uuid4()}")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Application not found"})
    assert client.post("/heartbeat/not-a-uuid").status_code == 404
    app = create(client, write_headers, name="off", expected_interval=60, is_active=False)
    inactive = client.post(f"/heartbeat/{app['uuid']}")
    assert (inactive.status_code, inactive.json()) == (400, {"error": "Application is not active"})


def test_input_errors(client: TestClient, write_headers: dict[str, str]) -> None:
    missing = client.post("/api/applications", json={"name": "x"}, headers=write_headers)
    assert missing.status_code == 400
    assert missing.json() == {"error": "Name and expected_interval are required"}
    bad = client.post(
        "/api/applications", json={"name": "x", "expected_interval": "often"}, headers=write_headers
    )
    assert bad.status_code == 400 and "expected_interval" in bad.json()["error"]
    app = create(client, write_headers, name="x", expected_interval=60)
    empty = client.put(f"/api/applications/{app['id']}", json={}, headers=write_headers)
    assert (empty.status_code, empty.json()) == (400, {"error": "No data provided"})
    taken = client.post(
        "/api/applications", json={"name": "x", "expected_interval": 60}, headers=write_headers
    )
    assert taken.status_code == 409 and "error" in taken.json()
    assert client.get("/api/applications/abc", headers=write_headers).status_code == 404


def test_attack_management_needs_a_key_of_the_right_scope(
    client: TestClient,
    write_headers: dict[str, str],
    read_headers: dict[str, str],
    make_key: Callable[..., str],
    medic: MedicProcess,
) -> None:
    app = create(client, write_headers, name="web", expected_interval=60)
    assert client.get("/api/applications").status_code == 401
    assert "error" in client.get("/api/applications").json()
    ingest = auth(make_key("ingest"))
    assert client.get("/api/applications", headers=ingest).status_code == 403
    body = {"name": "evil", "expected_interval": 60}
    assert client.post("/api/applications", json=body, headers=read_headers).status_code == 403
    put = client.put(f"/api/applications/{app['id']}", json={"name": "y"}, headers=read_headers)
    assert put.status_code == 403
    # A read key sees no ping uuid (a capability), as everywhere in Medic.
    listed = client.get("/api/applications", headers=read_headers).json()
    assert listed[0]["uuid"] is None
