"""v2 REST API: services (with schedules, mute and unmute), heartbeats, runs, alerts, audit.

Every answer uses the envelope {"success", "message", "results"}; `results` is an object.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import Alert, HeartbeatEvent
from medic.process import MedicProcess

Register = Callable[..., dict[str, Any]]


def at(value: str | None) -> datetime:
    assert value is not None
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None, f"{value} has no offset"
    return parsed


def get_service(client: TestClient, headers: dict[str, str], service_id: int) -> dict[str, Any]:
    response = client.get(f"/v2/services/{service_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def post_beat(
    client: TestClient, headers: dict[str, str], expect: int = 201, **body: Any
) -> dict[str, Any]:
    response = client.post("/v2/heartbeats", json=body, headers=headers)
    assert response.status_code == expect, response.text
    return response.json()


def error_of(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["results"] == ""
    assert body["message"]
    return body["message"]


# --- services: create and read ---------------------------------------------------------------


def test_create_service_returns_it_with_defaults(client: TestClient, admin_headers) -> None:
    response = client.post(
        "/v2/services",
        json={"heartbeat_name": "nightly-backup", "service_name": "backups", "alert_interval": 5},
        headers=admin_headers,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    service = body["results"]
    assert service["heartbeat_name"] == "nightly-backup"
    assert service["service_name"] == "backups"
    assert service["alert_interval"] == 5
    assert service["threshold"] == 1
    assert service["team"] == "site-reliability"
    assert service["priority"] == "p3"
    assert service["schedule_type"] == "interval"
    assert service["grace_period_seconds"] == 0
    assert service["max_duration_seconds"] is None
    assert service["active"] is True
    assert service["muted"] is False
    assert service["state"] == "new"
    assert service["ping_url"] == f"http://medic.test/ping/{service['uuid']}"
    # Never beat: due one interval after registration.
    assert at(service["next_due_at"]) - at(service["date_added"]) == timedelta(minutes=5)

    fetched = get_service(client, admin_headers, service["service_id"])
    assert fetched == service


def test_create_needs_write_scope(client: TestClient, read_headers, write_headers) -> None:
    body = {"heartbeat_name": "job", "alert_interval": 5}
    assert client.post("/v2/services", json=body).status_code == 401
    assert client.post("/v2/services", json=body, headers=read_headers).status_code == 403
    assert client.post("/v2/services", json=body, headers=write_headers).status_code == 201


def test_grace_period_moves_next_due_at(register: Register) -> None:
    service = register("nightly-backup", alert_interval=5, grace_period_seconds=120)
    assert service["grace_period_seconds"] == 120
    due = at(service["next_due_at"]) - at(service["date_added"])
    assert due == timedelta(minutes=5, seconds=120)


def test_max_duration_is_stored(register: Register, client: TestClient, read_headers) -> None:
    service = register("nightly-backup", max_duration_seconds=3600)
    assert service["max_duration_seconds"] == 3600
    assert get_service(client, read_headers, service["service_id"])["max_duration_seconds"] == 3600


def test_cron_schedule_is_due_at_the_next_fire_time_in_its_timezone(register: Register) -> None:
    service = register(
        "nightly-backup",
        schedule_type="cron",
        cron_expression="30 3 * * *",
        timezone="Europe/Berlin",
    )
    assert service["schedule_type"] == "cron"
    assert service["cron_expression"] == "30 3 * * *"
    assert service["timezone"] == "Europe/Berlin"
    due = at(service["next_due_at"])
    local = due.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute, local.second) == (3, 30, 0)
    added = at(service["date_added"])
    assert added < due <= added + timedelta(days=1, hours=1)


def test_cron_schedule_with_grace(register: Register) -> None:
    service = register(
        "nightly-backup",
        schedule_type="cron",
        cron_expression="0 * * * *",
        timezone="UTC",
        grace_period_seconds=300,
    )
    due = at(service["next_due_at"]).astimezone(UTC)
    assert (due.minute, due.second) == (5, 0)
    added = at(service["date_added"])
    assert added + timedelta(minutes=5) < due <= added + timedelta(hours=1, minutes=5)


def test_window_schedule_ends_on_a_window_boundary_aligned_to_local_midnight(
    register: Register,
) -> None:
    service = register(
        "hourly-export", schedule_type="window", alert_interval=60, timezone="Asia/Kolkata"
    )
    assert service["schedule_type"] == "window"
    due = at(service["next_due_at"])
    local = due.astimezone(ZoneInfo("Asia/Kolkata"))
    assert (local.minute, local.second, local.microsecond) == (0, 0, 0)
    added = at(service["date_added"])
    assert added < due <= added + timedelta(minutes=60)


INVALID_SERVICES: list[tuple[dict[str, Any], str]] = [
    ({"schedule_type": "cron", "cron_expression": "not a cron"}, "cron_expression"),
    ({"schedule_type": "cron", "cron_expression": "61 * * * *"}, "cron_expression"),
    ({"schedule_type": "cron", "cron_expression": "0 0 * * * *"}, "five fields"),
    ({"schedule_type": "cron"}, "cron_expression is required"),
    ({"schedule_type": "hourly"}, "schedule_type"),
    ({"timezone": "CST"}, "IANA"),
    ({"timezone": "EST"}, "IANA"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"alert_interval": 0}, "alert_interval"),
    ({"alert_interval": -5}, "alert_interval"),
    ({"threshold": 0}, "threshold"),
    ({"grace_period_seconds": -1}, "grace_period_seconds"),
    ({"max_duration_seconds": 0}, "max_duration_seconds"),
    ({"priority": "p9"}, "priority"),
    ({"colour": "blue"}, "colour"),
]


def test_invalid_service_is_400_with_a_message(client: TestClient, admin_headers) -> None:
    for fields, words in INVALID_SERVICES:
        body = {"heartbeat_name": "nightly-backup", "alert_interval": 5, **fields}
        response = client.post("/v2/services", json=body, headers=admin_headers)
        message = error_of(response, 400)
        assert words in message, (fields, message)
    listed = client.get("/v2/services", headers=admin_headers).json()["results"]
    assert listed["total"] == 0


def test_duplicate_name_is_409(client: TestClient, admin_headers, register: Register) -> None:
    register("nightly-backup")
    response = client.post(
        "/v2/services",
        json={"heartbeat_name": "Nightly-Backup", "alert_interval": 10},
        headers=admin_headers,
    )
    assert "already registered" in error_of(response, 409)
    listed = client.get("/v2/services", headers=admin_headers).json()["results"]
    assert listed["total"] == 1
    assert listed["items"][0]["alert_interval"] == 5


def test_unknown_service_is_404(client: TestClient, admin_headers) -> None:
    error_of(client.get("/v2/services/999999", headers=admin_headers), 404)
    error_of(client.patch("/v2/services/999999", json={"threshold": 2}, headers=admin_headers), 404)
    error_of(client.delete("/v2/services/999999", headers=admin_headers), 404)
    error_of(client.post("/v2/services/999999/mute", headers=admin_headers), 404)


def test_list_services_pages_and_filters(
    client: TestClient, read_headers, register: Register
) -> None:
    for index in range(5):
        register(f"job-{index}", service_name="batch" if index % 2 else "web", team="data")
    register("job-inactive", active=False)
    page = client.get("/v2/services", params={"limit": 2}, headers=read_headers).json()
    assert page["results"]["total"] == 6
    assert [s["heartbeat_name"] for s in page["results"]["items"]] == ["job-0", "job-1"]
    page = client.get(
        "/v2/services", params={"limit": 2, "offset": 4}, headers=read_headers
    ).json()["results"]
    assert [s["heartbeat_name"] for s in page["items"]] == ["job-4", "job-inactive"]
    assert (page["limit"], page["offset"]) == (2, 4)
    batch = client.get(
        "/v2/services", params={"service_name": "batch"}, headers=read_headers
    ).json()["results"]
    assert [s["heartbeat_name"] for s in batch["items"]] == ["job-1", "job-3"]
    inactive = client.get("/v2/services", params={"active": "false"}, headers=read_headers).json()[
        "results"
    ]
    assert [s["heartbeat_name"] for s in inactive["items"]] == ["job-inactive"]
    data = client.get("/v2/services", params={"team": "data"}, headers=read_headers).json()
    assert data["results"]["total"] == 5


# --- services: update and delete -------------------------------------------------------------


def test_patch_changes_only_the_given_fields(
    client: TestClient, write_headers, register: Register
) -> None:
    service = register("nightly-backup", team="storage", runbook="https://wiki/backup")
    response = client.patch(
        f"/v2/services/{service['service_id']}",
        json={"service_name": "backups-v2", "priority": "P1"},
        headers=write_headers,
    )
    assert response.status_code == 200, response.text
    updated = response.json()["results"]
    assert updated["service_name"] == "backups-v2"
    assert updated["priority"] == "p1"
    unchanged = {k: v for k, v in updated.items() if k not in {"service_name", "priority"}}
    expected = {k: v for k, v in service.items() if k not in {"service_name", "priority"}}
    unchanged.pop("date_modified")
    expected.pop("date_modified")
    assert unchanged == expected
    assert at(updated["date_modified"]) >= at(service["date_modified"])


def test_patch_of_schedule_recomputes_next_due_at(
    client: TestClient, write_headers, register: Register
) -> None:
    service = register("nightly-backup", alert_interval=5)
    sid = service["service_id"]
    added = at(service["date_added"])
    updated = client.patch(
        f"/v2/services/{sid}", json={"alert_interval": 30}, headers=write_headers
    ).json()["results"]
    assert at(updated["next_due_at"]) - added == timedelta(minutes=30)

    updated = client.patch(
        f"/v2/services/{sid}", json={"grace_period_seconds": 60}, headers=write_headers
    ).json()["results"]
    assert at(updated["next_due_at"]) - added == timedelta(minutes=30, seconds=60)

    updated = client.patch(
        f"/v2/services/{sid}",
        json={
            "schedule_type": "cron",
            "cron_expression": "15 6 * * 1",
            "timezone": "America/New_York",
            "grace_period_seconds": 0,
        },
        headers=write_headers,
    ).json()["results"]
    local = at(updated["next_due_at"]).astimezone(ZoneInfo("America/New_York"))
    assert (local.weekday(), local.hour, local.minute) == (0, 6, 15)

    assert get_service(client, write_headers, sid)["next_due_at"] == updated["next_due_at"]


def test_patch_after_heartbeats_counts_from_the_newest_beat(
    client: TestClient, write_headers, register: Register
) -> None:
    service = register("nightly-backup", alert_interval=5)
    beat = post_beat(client, write_headers, service_id=service["service_id"])["results"]
    updated = client.patch(
        f"/v2/services/{service['service_id']}",
        json={"alert_interval": 60},
        headers=write_headers,
    ).json()["results"]
    assert at(updated["next_due_at"]) == at(beat["time"]) + timedelta(minutes=60)


INVALID_CHANGES: list[tuple[dict[str, Any], str]] = [
    ({}, "no fields"),
    ({"alert_interval": 0}, "alert_interval"),
    ({"alert_interval": None}, "alert_interval"),
    ({"timezone": "CST"}, "IANA"),
    ({"schedule_type": "cron"}, "cron_expression"),
    ({"schedule_type": "cron", "cron_expression": "every day"}, "cron_expression"),
    ({"heartbeat_name": None}, "heartbeat_name"),
    ({"uuid": "mine"}, "uuid"),
]


def test_invalid_patch_is_400_and_changes_nothing(
    client: TestClient, write_headers, register: Register
) -> None:
    service = register("nightly-backup")
    for changes, words in INVALID_CHANGES:
        response = client.patch(
            f"/v2/services/{service['service_id']}", json=changes, headers=write_headers
        )
        message = error_of(response, 400)
        assert words in message, (changes, message)
    assert get_service(client, write_headers, service["service_id"]) == service


def test_patch_rename_onto_an_existing_name_is_409(
    client: TestClient, write_headers, register: Register
) -> None:
    register("nightly-backup")
    other = register("hourly-export")
    response = client.patch(
        f"/v2/services/{other['service_id']}",
        json={"heartbeat_name": "NIGHTLY-backup"},
        headers=write_headers,
    )
    error_of(response, 409)
    assert get_service(client, write_headers, other["service_id"])["heartbeat_name"] == (
        "hourly-export"
    )


def test_delete_needs_admin_and_removes_the_history(
    client: TestClient, medic: MedicProcess, admin_headers, write_headers, register: Register
) -> None:
    service = register("nightly-backup")
    sid = service["service_id"]
    post_beat(client, write_headers, service_id=sid)
    error_of(client.delete(f"/v2/services/{sid}", headers=write_headers), 403)
    response = client.delete(f"/v2/services/{sid}", headers=admin_headers)
    assert response.status_code == 200
    assert response.json()["results"] == {"service_id": sid}
    error_of(client.get(f"/v2/services/{sid}", headers=admin_headers), 404)
    beats = client.get("/v2/heartbeats", params={"service_id": sid}, headers=admin_headers)
    assert beats.json()["results"]["total"] == 0
    # Gone from the table, not only from the listing (which joins the services).
    with medic.db.session() as session:
        stored = session.exec(select(HeartbeatEvent).where(HeartbeatEvent.service_id == sid))
        assert stored.all() == []
    # Its ping URL is gone with it.
    assert client.get(f"/ping/{service['uuid']}").status_code == 404
    audit = client.get(
        "/v2/audit", params={"action": "service.delete"}, headers=admin_headers
    ).json()["results"]
    assert [(e["actor"], e["target_id"]) for e in audit["items"]] == [("test-admin", str(sid))]


# --- mute and unmute -------------------------------------------------------------------------


def test_mute_with_duration_and_reason_then_unmute(
    client: TestClient, admin_headers, write_headers, register: Register
) -> None:
    service = register("nightly-backup")
    sid = service["service_id"]
    before = datetime.now(UTC)
    response = client.post(
        f"/v2/services/{sid}/mute",
        json={"duration": "30m", "reason": "planned database failover"},
        headers=write_headers,
    )
    after = datetime.now(UTC)
    assert response.status_code == 200, response.text
    muted = response.json()["results"]
    assert muted["muted"] is True
    assert muted["mute_reason"] == "planned database failover"
    until = at(muted["muted_until"])
    assert before + timedelta(minutes=30) <= until <= after + timedelta(minutes=30)
    assert get_service(client, write_headers, sid)["muted_until"] == muted["muted_until"]

    response = client.post(f"/v2/services/{sid}/unmute", headers=write_headers)
    assert response.status_code == 200
    unmuted = response.json()["results"]
    assert unmuted["muted"] is False
    assert unmuted["muted_until"] is None
    assert unmuted["mute_reason"] is None

    audit = client.get("/v2/audit", params={"target_id": str(sid)}, headers=admin_headers)
    assert audit.status_code == 200
    entries = audit.json()["results"]["items"]
    assert [(e["action"], e["actor"]) for e in entries[:2]] == [
        ("service.unmute", "test-writer"),
        ("service.mute", "test-writer"),
    ]
    mute_entry = entries[1]
    assert mute_entry["front_door"] == "api"
    assert mute_entry["target_type"] == "service"
    assert mute_entry["details"]["reason"] == "planned database failover"
    assert at(mute_entry["details"]["muted_until"]) == until

    by_actor = client.get(
        "/v2/audit",
        params={"actor": "test-writer", "action": "service.mute"},
        headers=admin_headers,
    ).json()["results"]
    assert by_actor["total"] == 1


def test_mute_without_duration_uses_the_auto_unmute_default(
    client: TestClient, write_headers, register: Register, medic: MedicProcess
) -> None:
    service = register("nightly-backup")
    response = client.post(f"/v2/services/{service['service_id']}/mute", headers=write_headers)
    assert response.status_code == 200, response.text
    muted = response.json()["results"]
    expected = datetime.now(UTC) + timedelta(hours=medic.settings.alert_auto_unmute_hours)
    assert abs(at(muted["muted_until"]) - expected) < timedelta(minutes=1)
    assert muted["mute_reason"] is None


def test_invalid_mute_is_400(client: TestClient, write_headers, register: Register) -> None:
    service = register("nightly-backup")
    for body, words in (({"duration": "soon"}, "duration"), ({"reason": "x" * 1001}, "reason")):
        response = client.post(
            f"/v2/services/{service['service_id']}/mute", json=body, headers=write_headers
        )
        message = error_of(response, 400)
        assert words in message, (body, message)
    assert get_service(client, write_headers, service["service_id"])["muted"] is False


def test_audit_log_needs_admin(client: TestClient, write_headers) -> None:
    error_of(client.get("/v2/audit", headers=write_headers), 403)


# --- heartbeats ------------------------------------------------------------------------------


def test_post_heartbeat_by_name_or_service_id(
    client: TestClient, write_headers, register: Register
) -> None:
    service = register("Nightly-Backup")
    by_name = post_beat(client, write_headers, heartbeat_name="nightly-BACKUP", status="up")
    assert by_name["success"] is True
    beat = by_name["results"]
    assert isinstance(beat["heartbeat_id"], int)
    assert beat["service_id"] == service["service_id"]
    assert beat["heartbeat_name"] == "Nightly-Backup"
    assert beat["status"] == "UP"
    assert beat["run_id"] is None
    at(beat["time"])

    by_id = post_beat(
        client, write_headers, service_id=service["service_id"], status="DEGRADED", run_id="r-1"
    )["results"]
    assert by_id["heartbeat_id"] > beat["heartbeat_id"]
    assert (by_id["status"], by_id["run_id"]) == ("DEGRADED", "r-1")

    default = post_beat(client, write_headers, service_id=service["service_id"])["results"]
    assert default["status"] == "UP"


def test_a_heartbeat_answer_is_compact_json_whatever_the_names_hold(
    client: TestClient, write_headers, register: Register
) -> None:
    """The answer is written by pydantic-core: byte for byte what the json module writes
    (compact, UTF-8), with quotes, backslashes, markup and non-ASCII in client text."""
    register('Back"up \\ <b>&amp; \u2028é😀')
    response = client.post(
        "/v2/heartbeats",
        headers=write_headers,
        json={"heartbeat_name": 'back"up \\ <b>&amp; \u2028é😀', "run_id": 'r"\\1'},
    )
    assert response.status_code == 201, response.text
    beat = response.json()["results"]
    assert (beat["heartbeat_name"], beat["run_id"]) == ('Back"up \\ <b>&amp; \u2028é😀', 'r"\\1')
    compact = json.dumps(response.json(), ensure_ascii=False, separators=(",", ":"))
    assert response.content == compact.encode()
    assert response.headers["content-type"] == "application/json"


BAD_HEARTBEATS: list[tuple[dict[str, Any], int, str]] = [
    ({}, 400, "exactly one"),
    ({"heartbeat_name": "nightly-backup", "service_id": 1}, 400, "exactly one"),
    ({"heartbeat_name": "nightly-backup", "status": "SLEEPY"}, 400, "status"),
    ({"heartbeat_name": "nightly-backup", "run_id": "   "}, 400, "run_id"),
    ({"heartbeat_name": "nightly-backup", "run_id": "r" * 256}, 400, "run_id"),
    ({"heartbeat_name": "nightly-backup", "extra": 1}, 400, "extra"),
    ({"heartbeat_name": "nobody"}, 404, "nobody"),
    ({"service_id": 999999}, 404, "999999"),
]


def test_bad_heartbeat_is_refused_with_a_message(
    client: TestClient, write_headers, register: Register
) -> None:
    register("nightly-backup")
    for body, status, words in BAD_HEARTBEATS:
        response = client.post("/v2/heartbeats", json=body, headers=write_headers)
        message = error_of(response, status)
        assert words in message, (body, message)
    for raw in (b"not json", b"[1, 2]"):
        response = client.post(
            "/v2/heartbeats",
            content=raw,
            headers={**write_headers, "Content-Type": "application/json"},
        )
        error_of(response, 400)
    assert client.get("/v2/heartbeats", headers=write_headers).json()["results"]["total"] == 0


def test_a_message_with_a_lone_surrogate_is_stored_with_a_replacement(
    client: TestClient, write_headers, register: Register
) -> None:
    # JSON may escape half a UTF-16 pair ("\\ud800"); no database stores it. It is
    # replaced like any other text Medic cannot keep, not answered 503 ("retry") forever.
    register("nightly-backup")
    raw = b'{"heartbeat_name": "nightly-backup", "message": "disk \\ud800 full"}'
    headers = {**write_headers, "Content-Type": "application/json"}
    response = client.post("/v2/heartbeats", content=raw, headers=headers)
    assert response.status_code == 201, response.text
    [stored] = client.get("/v2/heartbeats", headers=write_headers).json()["results"]["items"]
    assert stored["message"] == "disk ? full"


def test_posting_a_heartbeat_needs_a_write_key(
    client: TestClient, read_headers, register: Register
) -> None:
    register("nightly-backup")
    body = {"heartbeat_name": "nightly-backup"}
    error_of(client.post("/v2/heartbeats", json=body), 401)
    error_of(client.post("/v2/heartbeats", json=body, headers=read_headers), 403)


def test_a_heartbeat_without_a_key_is_401_whatever_its_body(client: TestClient) -> None:
    # The key is checked before the body is read: a client without one learns nothing
    # about what a valid body looks like.
    for raw in (b"not json", b"[1, 2]", b'{"heartbeat_name": 5}', b""):
        response = client.post(
            "/v2/heartbeats", content=raw, headers={"Content-Type": "application/json"}
        )
        error_of(response, 401)


def test_a_heartbeat_body_must_be_json(
    client: TestClient, write_headers, register: Register
) -> None:
    register("nightly-backup")
    body = b'{"heartbeat_name": "nightly-backup"}'
    for content_type in ("text/plain", None):
        headers = {k: v for k, v in write_headers.items() if k.lower() != "content-type"}
        if content_type:
            headers["Content-Type"] = content_type
        response = client.post("/v2/heartbeats", content=body, headers=headers)
        assert "JSON object" in error_of(response, 400)
    beat = client.post(
        "/v2/heartbeats",
        content=body,
        headers={**write_headers, "Content-Type": "application/vnd.medic+json; charset=utf-8"},
    )
    assert beat.status_code == 201, beat.text


def test_an_oversized_heartbeat_is_413(client: TestClient, write_headers, register) -> None:
    register("nightly-backup")
    body = b'{"heartbeat_name": "nightly-backup", "message": "' + b"x" * 10_000_000 + b'"}'
    headers = {**write_headers, "Content-Type": "application/json"}

    def chunks() -> Any:
        for start in range(0, len(body), 1024 * 1024):
            yield body[start : start + 1024 * 1024]

    for content in (body, chunks()):
        assert "larger than" in error_of(
            client.post("/v2/heartbeats", content=content, headers=headers), 413
        )
    assert client.get("/v2/heartbeats", headers=write_headers).json()["results"]["total"] == 0


def test_heartbeat_on_inactive_service_is_400(
    client: TestClient, write_headers, register: Register
) -> None:
    register("retired", active=False)
    response = client.post(
        "/v2/heartbeats", json={"heartbeat_name": "retired"}, headers=write_headers
    )
    assert "inactive" in error_of(response, 400)


def test_list_heartbeats_pages_newest_first(
    client: TestClient, write_headers, register: Register
) -> None:
    service = register("nightly-backup")
    posted = [
        post_beat(client, write_headers, service_id=service["service_id"], status=s)["results"]
        for s in ("UP", "DOWN", "UP", "FAILED", "UP")
    ]
    newest_first = [b["heartbeat_id"] for b in reversed(posted)]

    page = client.get("/v2/heartbeats", params={"limit": 2}, headers=write_headers)
    assert page.status_code == 200
    results = page.json()["results"]
    assert (results["total"], results["limit"], results["offset"]) == (5, 2, 0)
    assert [b["heartbeat_id"] for b in results["items"]] == newest_first[:2]

    results = client.get(
        "/v2/heartbeats", params={"limit": 2, "offset": 2}, headers=write_headers
    ).json()["results"]
    assert [b["heartbeat_id"] for b in results["items"]] == newest_first[2:4]
    results = client.get(
        "/v2/heartbeats", params={"limit": 2, "offset": 4}, headers=write_headers
    ).json()["results"]
    assert [b["heartbeat_id"] for b in results["items"]] == newest_first[4:]
    assert results["total"] == 5

    item = results["items"][0]
    assert item["heartbeat_name"] == "nightly-backup"
    assert item["service_name"] == "backups"
    assert item["service_id"] == service["service_id"]

    error_of(client.get("/v2/heartbeats", params={"limit": 0}, headers=write_headers), 400)
    error_of(client.get("/v2/heartbeats", params={"limit": 1001}, headers=write_headers), 400)
    error_of(client.get("/v2/heartbeats", params={"offset": -1}, headers=write_headers), 400)


def test_list_heartbeats_filters(client: TestClient, write_headers, register: Register) -> None:
    backup = register("nightly-backup")
    export = register("hourly-export")
    times: list[datetime] = []
    for service, status in (
        (backup, "UP"),
        (export, "UP"),
        (backup, "DOWN"),
        (export, "FAILED"),
        (backup, "UP"),
    ):
        beat = post_beat(client, write_headers, service_id=service["service_id"], status=status)[
            "results"
        ]
        times.append(at(beat["time"]))

    def query(**params: Any) -> list[tuple[str, str]]:
        response = client.get("/v2/heartbeats", params=params, headers=write_headers)
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert results["total"] == len(results["items"])
        return [(b["heartbeat_name"], b["status"]) for b in results["items"]]

    assert query(heartbeat_name="NIGHTLY-BACKUP") == [
        ("nightly-backup", "UP"),
        ("nightly-backup", "DOWN"),
        ("nightly-backup", "UP"),
    ]
    assert query(service_id=export["service_id"]) == [
        ("hourly-export", "FAILED"),
        ("hourly-export", "UP"),
    ]
    assert query(status="up") == [
        ("nightly-backup", "UP"),
        ("hourly-export", "UP"),
        ("nightly-backup", "UP"),
    ]
    assert query(since=times[2].isoformat()) == [
        ("nightly-backup", "UP"),
        ("hourly-export", "FAILED"),
        ("nightly-backup", "DOWN"),
    ]
    assert query(heartbeat_name="nightly-backup", status="UP", since=times[1].isoformat()) == [
        ("nightly-backup", "UP"),
    ]
    assert query(since=(times[-1] + timedelta(seconds=1)).isoformat()) == []

    error_of(
        client.get("/v2/heartbeats", params={"heartbeat_name": "nobody"}, headers=write_headers),
        404,
    )
    error_of(client.get("/v2/heartbeats", params={"status": "SLEEPY"}, headers=write_headers), 400)
    error_of(
        client.get("/v2/heartbeats", params={"since": "yesterday"}, headers=write_headers), 400
    )


def test_listing_heartbeats_needs_a_key(client: TestClient) -> None:
    error_of(client.get("/v2/heartbeats"), 401)


def test_threshold_3_is_due_at_the_third_newest_up_beat_plus_interval(
    client: TestClient, write_headers, register: Register
) -> None:
    service = register("nightly-backup", alert_interval=10, threshold=3)
    sid = service["service_id"]
    added = at(service["date_added"])

    for status in ("UP", "DOWN", "UP"):
        post_beat(client, write_headers, service_id=sid, status=status)
    # Fewer than three proof-of-life beats so far: still counted from registration.
    assert at(get_service(client, write_headers, sid)["next_due_at"]) == added + timedelta(
        minutes=10
    )

    for status in ("FAILED", "UP", "UP", "DOWN"):
        post_beat(client, write_headers, service_id=sid, status=status)
    ups = client.get(
        "/v2/heartbeats", params={"service_id": sid, "status": "UP"}, headers=write_headers
    ).json()["results"]["items"]
    assert len(ups) == 4
    third_newest = at(ups[2]["time"])
    due = at(get_service(client, write_headers, sid)["next_due_at"])
    assert due == third_newest + timedelta(minutes=10)


# --- the original v2 run routes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "status"), [("start", "STARTED"), ("complete", "COMPLETED"), ("fail", "FAILED")]
)
def test_run_routes_record_the_run(
    client: TestClient,
    write_headers,
    register: Register,
    route: str,
    status: str,
) -> None:
    service = register("nightly-backup")
    sid = service["service_id"]
    response = client.post(
        f"/v2/heartbeat/{sid}/{route}", json={"run_id": "run-7"}, headers=write_headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["success"] is True
    beat = body["results"]
    assert (beat["service_id"], beat["status"], beat["run_id"]) == (sid, status, "run-7")
    assert isinstance(beat["heartbeat_id"], int)

    without_body = client.post(f"/v2/heartbeat/{sid}/{route}", headers=write_headers)
    assert without_body.status_code == 201, without_body.text
    assert without_body.json()["results"]["run_id"] is None

    stored = client.get("/v2/heartbeats", params={"service_id": sid}, headers=write_headers).json()[
        "results"
    ]["items"]
    assert [(b["status"], b["run_id"]) for b in stored] == [(status, None), (status, "run-7")]


def test_a_run_from_start_to_complete(
    client: TestClient, write_headers, register: Register
) -> None:
    service = register("nightly-backup", alert_interval=10)
    sid = service["service_id"]
    start = client.post(f"/v2/heartbeat/{sid}/start", json={"run_id": "r"}, headers=write_headers)
    assert start.status_code == 201
    # STARTED is not proof of life.
    assert get_service(client, write_headers, sid)["next_due_at"] == service["next_due_at"]
    done = client.post(f"/v2/heartbeat/{sid}/complete", json={"run_id": "r"}, headers=write_headers)
    assert done.status_code == 201
    due = at(get_service(client, write_headers, sid)["next_due_at"])
    assert due == at(done.json()["results"]["time"]) + timedelta(minutes=10)


def test_run_routes_refuse_bad_requests(
    client: TestClient, write_headers, read_headers, register: Register
) -> None:
    service = register("nightly-backup")
    sid = service["service_id"]
    error_of(client.post(f"/v2/heartbeat/{sid}/start", json={"run_id": "r"}), 401)
    error_of(
        client.post(f"/v2/heartbeat/{sid}/start", json={"run_id": "r"}, headers=read_headers), 403
    )
    error_of(client.post("/v2/heartbeat/999999/start", headers=write_headers), 404)
    error_of(
        client.post(
            f"/v2/heartbeat/{sid}/complete", json={"run_id": "x" * 256}, headers=write_headers
        ),
        400,
    )
    error_of(
        client.post(f"/v2/heartbeat/{sid}/fail", json={"runid": "r"}, headers=write_headers), 400
    )


# --- alerts ----------------------------------------------------------------------------------


def test_list_alerts_newest_first_with_filters(
    client: TestClient, read_headers, register: Register, medic: MedicProcess
) -> None:
    backup = register("nightly-backup")
    export = register("hourly-export")
    with medic.db.session() as session:
        session.add(
            Alert(
                alert_name="nightly-backup is down",
                service_id=backup["service_id"],
                active=False,
                closed_date=datetime.now(UTC),
            )
        )
        session.flush()
        session.add(Alert(alert_name="hourly-export is down", service_id=export["service_id"]))
        session.flush()
        session.add(
            Alert(
                alert_name="nightly-backup is down again",
                service_id=backup["service_id"],
                alert_cycle=2,
                external_reference_id="PD-123",
            )
        )

    response = client.get("/v2/alerts", headers=read_headers)
    assert response.status_code == 200
    results = response.json()["results"]
    assert results["total"] == 3
    names = [a["alert_name"] for a in results["items"]]
    assert names == [
        "nightly-backup is down again",
        "hourly-export is down",
        "nightly-backup is down",
    ]
    newest = results["items"][0]
    assert newest["active"] is True
    assert newest["alert_cycle"] == 2
    assert newest["external_reference_id"] == "PD-123"
    assert newest["closed_date"] is None
    at(newest["created_date"])

    active = client.get("/v2/alerts", params={"active": "true"}, headers=read_headers).json()
    assert active["results"]["total"] == 2
    closed = client.get("/v2/alerts", params={"active": "false"}, headers=read_headers).json()
    assert [a["alert_name"] for a in closed["results"]["items"]] == ["nightly-backup is down"]
    mine = client.get(
        "/v2/alerts", params={"service_id": backup["service_id"], "limit": 1}, headers=read_headers
    ).json()["results"]
    assert mine["total"] == 2
    assert [a["alert_name"] for a in mine["items"]] == ["nightly-backup is down again"]
    error_of(client.get("/v2/alerts"), 401)


def test_a_cron_service_needs_no_alert_interval(client: TestClient, admin_headers) -> None:
    body = {"heartbeat_name": "nightly", "schedule_type": "cron", "cron_expression": "0 2 * * *"}
    created = client.post("/v2/services", json=body, headers=admin_headers)
    missing = client.post("/v2/services", json={"heartbeat_name": "x"}, headers=admin_headers)

    assert created.status_code == 201, created.text
    assert missing.status_code == 400
    assert "alert_interval is required" in missing.json()["message"]


def test_a_cron_date_that_never_comes_is_a_400_naming_it(client: TestClient, admin_headers) -> None:
    body = {"heartbeat_name": "x", "schedule_type": "cron", "cron_expression": "0 0 30 2 *"}

    response = client.post("/v2/services", json=body, headers=admin_headers)

    assert response.status_code == 400
    assert "never comes" in response.json()["message"]
