"""Ping URLs, healthchecks.io style: `curl -fsS https://medic/ping/<uuid>` from a cron job.

The uuid is the credential (no API key). `/start`, `/fail` and `/{exit_status}` report
job runs, `?rid=` names the run, and the request body (first 100 kB) is kept as the
event's message.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import HeartbeatEvent
from medic.process import MedicProcess

METHODS = ("GET", "HEAD", "POST")


def events(medic: MedicProcess) -> list[HeartbeatEvent]:
    with medic.db.session() as session:
        return list(session.exec(select(HeartbeatEvent).order_by(HeartbeatEvent.heartbeat_id)))


def service_view(client: TestClient, headers: dict[str, str], service_id: int) -> dict[str, Any]:
    response = client.get(f"/v2/services/{service_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@pytest.mark.parametrize(
    ("suffix", "status"),
    [
        ("", "UP"),
        ("/start", "STARTED"),
        ("/fail", "FAILED"),
        ("/0", "COMPLETED"),
        ("/1", "FAILED"),
        ("/255", "FAILED"),
    ],
)
def test_each_ping_url_records_its_status(
    client: TestClient,
    register: Callable[..., dict[str, Any]],
    medic: MedicProcess,
    suffix: str,
    status: str,
) -> None:
    service = register("nightly-backup")
    for method in METHODS:
        response = client.request(method, f"/ping/{service['uuid']}{suffix}")
        assert response.status_code == 200, (method, response.text)
    recorded = events(medic)
    assert [(e.service_id, e.status) for e in recorded] == [(service["service_id"], status)] * 3


def test_ping_url_is_the_one_the_service_advertises(
    client: TestClient, register: Callable[..., dict[str, Any]], medic: MedicProcess
) -> None:
    service = register("nightly-backup")
    assert service["ping_url"] == f"http://medic.test/ping/{service['uuid']}"
    path = service["ping_url"].removeprefix("http://medic.test")
    assert client.get(path).status_code == 200
    assert [e.status for e in events(medic)] == ["UP"]


def test_exit_status_outside_0_to_255_is_400(
    client: TestClient, register: Callable[..., dict[str, Any]], medic: MedicProcess
) -> None:
    service = register("nightly-backup")
    for exit_status in ("256", "abc", "-1", "1000", "1.5"):
        for method in ("GET", "POST"):
            response = client.request(method, f"/ping/{service['uuid']}/{exit_status}")
            assert response.status_code == 400, (method, exit_status)
            body = response.json()
            assert body["success"] is False
            assert "exit status" in body["message"]
        assert client.head(f"/ping/{service['uuid']}/{exit_status}").status_code == 400
    assert events(medic) == []


def test_rid_is_stored_as_run_id(
    client: TestClient, register: Callable[..., dict[str, Any]], medic: MedicProcess
) -> None:
    service = register("nightly-backup")
    base = f"/ping/{service['uuid']}"
    for method in METHODS:
        rid = {"rid": f"run-{method}"}
        assert client.request(method, f"{base}/start", params=rid).status_code == 200
        assert client.request(method, f"{base}/fail", params=rid).status_code == 200
        assert client.request(method, f"{base}/0", params=rid).status_code == 200
        assert client.request(method, base, params=rid).status_code == 200
        assert client.request(method, base).status_code == 200
    expected = []
    for method in METHODS:
        expected += [
            ("STARTED", f"run-{method}"),
            ("FAILED", f"run-{method}"),
            ("COMPLETED", f"run-{method}"),
            ("UP", f"run-{method}"),
            ("UP", None),
        ]
    assert [(e.status, e.run_id) for e in events(medic)] == expected


def test_post_body_is_kept_as_the_message(
    client: TestClient, register: Callable[..., dict[str, Any]], medic: MedicProcess, admin_headers
) -> None:
    service = register("nightly-backup")
    output = "backup of 12 databases finished\nsize: 4.2 GB\n"
    response = client.post(f"/ping/{service['uuid']}/0", content=output.encode())
    assert response.status_code == 200
    [event] = events(medic)
    assert event.message == output
    listed = client.get(
        "/v2/heartbeats", params={"service_id": service["service_id"]}, headers=admin_headers
    )
    assert listed.json()["results"]["items"][0]["message"] == output


def test_get_and_empty_post_store_no_message(
    client: TestClient, register: Callable[..., dict[str, Any]], medic: MedicProcess
) -> None:
    service = register("nightly-backup")
    client.get(f"/ping/{service['uuid']}")
    client.post(f"/ping/{service['uuid']}")
    assert [e.message for e in events(medic)] == [None, None]


def test_post_body_is_capped_at_100_kb(
    client: TestClient, register: Callable[..., dict[str, Any]], medic: MedicProcess
) -> None:
    service = register("nightly-backup")
    body = b"x" * 150_000
    response = client.post(f"/ping/{service['uuid']}/fail", content=body)
    assert response.status_code == 200
    [event] = events(medic)
    assert event.status == "FAILED"
    assert event.message is not None
    assert len(event.message.encode()) == 100_000
    assert event.message == "x" * 100_000


def test_no_api_key_is_needed(
    client: TestClient, register: Callable[..., dict[str, Any]], medic: MedicProcess
) -> None:
    service = register("nightly-backup")
    response = client.get(f"/ping/{service['uuid']}")
    assert response.status_code == 200
    assert response.text == "OK"
    # A key that is wrong changes nothing either: ping URLs never look at it.
    response = client.get(f"/ping/{service['uuid']}", headers={"Authorization": "Bearer not-a-key"})
    assert response.status_code == 200
    assert len(events(medic)) == 2


def test_unknown_uuid_is_404(
    client: TestClient, register: Callable[..., dict[str, Any]], medic: MedicProcess
) -> None:
    register("nightly-backup")
    for method in METHODS:
        for suffix in ("", "/start", "/fail", "/0", "/1"):
            response = client.request(method, f"/ping/{uuid.uuid4()}{suffix}")
            assert response.status_code == 404, (method, suffix)
            if method != "HEAD":
                assert response.json()["success"] is False
    assert events(medic) == []


def test_malformed_uuid_is_404(
    client: TestClient, register: Callable[..., dict[str, Any]], medic: MedicProcess
) -> None:
    register("nightly-backup")
    for bad in ("not-a-uuid", "1234", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"):
        for suffix in ("", "/start", "/fail", "/0"):
            for method in METHODS:
                response = client.request(method, f"/ping/{bad}{suffix}")
                assert response.status_code == 404, (method, bad, suffix)
    assert events(medic) == []


def test_uuid_is_matched_in_any_spelling(
    client: TestClient, register: Callable[..., dict[str, Any]], medic: MedicProcess
) -> None:
    service = register("nightly-backup")
    assert client.get(f"/ping/{service['uuid'].upper()}").status_code == 200
    assert [e.service_id for e in events(medic)] == [service["service_id"]]


def test_ping_on_an_inactive_service_is_400(
    client: TestClient, register: Callable[..., dict[str, Any]], medic: MedicProcess
) -> None:
    service = register("retired-job", active=False)
    for suffix in ("", "/start", "/fail", "/0"):
        for method in ("GET", "POST"):
            response = client.request(method, f"/ping/{service['uuid']}{suffix}")
            assert response.status_code == 400, (method, suffix)
            assert "inactive" in response.json()["message"]
        assert client.head(f"/ping/{service['uuid']}{suffix}").status_code == 400
    assert events(medic) == []


def test_failure_pings_never_move_the_deadline_but_success_does(
    client: TestClient, register: Callable[..., dict[str, Any]], admin_headers
) -> None:
    service = register("nightly-backup", alert_interval=10)
    sid = service["service_id"]
    registered_due = instant(service_view(client, admin_headers, sid)["next_due_at"])
    assert registered_due is not None

    for suffix in ("/fail", "/1", "/255", "/start"):
        assert client.get(f"/ping/{service['uuid']}{suffix}").status_code == 200
        after = service_view(client, admin_headers, sid)
        assert instant(after["next_due_at"]) == registered_due, suffix
        assert after["last_heartbeat_at"] is not None

    assert client.get(f"/ping/{service['uuid']}").status_code == 200
    after_up = service_view(client, admin_headers, sid)
    last = instant(after_up["last_heartbeat_at"])
    assert last is not None
    moved = instant(after_up["next_due_at"])
    assert moved is not None and moved > registered_due
    assert (moved - last).total_seconds() == 600

    assert client.get(f"/ping/{service['uuid']}/fail").status_code == 200
    assert instant(service_view(client, admin_headers, sid)["next_due_at"]) == moved
    # DOWN has no ping URL of its own; posted through the API it is no proof of life either.
    down = client.post(
        "/v2/heartbeats", json={"service_id": sid, "status": "DOWN"}, headers=admin_headers
    )
    assert down.status_code == 201
    after_down = service_view(client, admin_headers, sid)
    assert instant(after_down["next_due_at"]) == moved
    assert instant(after_down["last_heartbeat_at"]) > last


def test_exit_status_0_is_proof_of_life(
    client: TestClient, register: Callable[..., dict[str, Any]], admin_headers
) -> None:
    service = register("nightly-backup", alert_interval=10)
    before = instant(service["next_due_at"])
    assert client.post(f"/ping/{service['uuid']}/0").status_code == 200
    after = service_view(client, admin_headers, service["service_id"])
    assert instant(after["next_due_at"]) > before
    assert after["state"] == "up"


def test_rid_longer_than_255_characters_is_400(
    client: TestClient, register: Callable[..., dict[str, Any]], medic: MedicProcess
) -> None:
    service = register("nightly-backup")
    response = client.get(f"/ping/{service['uuid']}", params={"rid": "r" * 256})
    assert response.status_code == 400
    assert "rid" in response.json()["message"]
    assert events(medic) == []
