"""Slug ping URLs: `/ping/<team ping key>/<slug>` (healthchecks' design), `?create=1`
auto-provisioning, and the ping key as a rotatable, team-bound capability."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import AuditEntry, HeartbeatEvent, PingKey, Service
from medic.process import MedicProcess


def rotate(client: TestClient, headers: dict[str, str], team: str) -> str:
    response = client.post(f"/v2/teams/{team}/ping-key", headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["results"]["ping_key"]


def services(medic: MedicProcess) -> list[Service]:
    with medic.db.session() as session:
        return list(session.exec(select(Service).order_by(Service.service_id)))


def statuses(medic: MedicProcess) -> list[str]:
    with medic.db.session() as session:
        rows = session.exec(select(HeartbeatEvent).order_by(HeartbeatEvent.heartbeat_id))
        return [row.status for row in rows]


@pytest.mark.parametrize(
    ("suffix", "status"),
    [("", "UP"), ("/start", "STARTED"), ("/fail", "FAILED"), ("/0", "COMPLETED"), ("/2", "FAILED")],
)
def test_slug_urls_record_their_status(
    client: TestClient,
    register: Callable[..., dict[str, Any]],
    admin_headers: dict[str, str],
    medic: MedicProcess,
    suffix: str,
    status: str,
) -> None:
    service = register("Nightly Backup", team="data")
    assert service["slug"] == "nightly-backup"
    key = rotate(client, admin_headers, "data")
    response = client.post(f"/ping/{key}/nightly-backup{suffix}", content=b"log line")
    assert response.status_code == 200, response.text
    assert statuses(medic) == [status]


def test_create_makes_the_service_on_its_first_ping_with_defaults(
    client: TestClient, admin_headers: dict[str, str], medic: MedicProcess
) -> None:
    key = rotate(client, admin_headers, "data")
    assert client.get(f"/ping/{key}/new-job").status_code == 404
    assert services(medic) == []
    created = client.get(f"/ping/{key}/new-job?create=1")
    assert created.status_code == 201, created.text
    (service,) = services(medic)
    assert (service.heartbeat_name, service.slug, service.team) == ("new-job", "new-job", "data")
    assert (service.alert_interval, service.grace_period_seconds) == (1440, 3600)
    assert client.get(f"/ping/{key}/new-job?create=1").status_code == 200
    assert len(services(medic)) == 1
    assert statuses(medic) == ["UP", "UP"]
    with medic.db.session() as session:
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.action == "service.register")
        ).one()
    assert entry.actor == "ping-key:data"


def test_create_on_a_start_url_opens_a_run(
    client: TestClient, admin_headers: dict[str, str], medic: MedicProcess
) -> None:
    key = rotate(client, admin_headers, "data")
    assert client.post(f"/ping/{key}/etl/start?create=1&rid=r1").status_code == 201
    assert statuses(medic) == ["STARTED"]


def test_attack_a_team_key_cannot_beat_or_create_another_teams_services(
    client: TestClient,
    register: Callable[..., dict[str, Any]],
    admin_headers: dict[str, str],
    medic: MedicProcess,
) -> None:
    register("payments-sync", team="payments")
    rotate(client, admin_headers, "payments")
    key_a = rotate(client, admin_headers, "data")
    assert client.get(f"/ping/{key_a}/payments-sync").status_code == 404
    # Creating it under team A is refused too: the name belongs to team B's service.
    assert client.get(f"/ping/{key_a}/payments-sync?create=1").status_code == 409
    assert statuses(medic) == []
    assert [s.team for s in services(medic)] == ["payments"]


def test_attack_slugs_are_validated(
    client: TestClient, admin_headers: dict[str, str], medic: MedicProcess
) -> None:
    key = rotate(client, admin_headers, "data")
    for slug in ("..", "%2E%2E", "a%2Fb", "UPPER", "-x", "a%00b", "x" * 101):
        response = client.get(f"/ping/{key}/{slug}?create=1")
        assert response.status_code in (400, 404), (slug, response.status_code)
    assert services(medic) == []


def test_attack_an_unknown_key_is_a_404_and_creates_nothing(
    client: TestClient, admin_headers: dict[str, str], medic: MedicProcess
) -> None:
    rotate(client, admin_headers, "data")
    assert client.get("/ping/not-a-real-key/job?create=1").status_code == 404
    assert client.get(f"/ping/{'k' * 500}/job?create=1").status_code == 404
    assert services(medic) == []


def test_rotating_the_key_makes_the_old_urls_404(
    client: TestClient, admin_headers: dict[str, str], medic: MedicProcess
) -> None:
    old = rotate(client, admin_headers, "data")
    assert client.get(f"/ping/{old}/job?create=1").status_code == 201
    new = rotate(client, admin_headers, "data")
    assert new != old
    for url in (f"/ping/{old}/job", f"/ping/{old}/job/start", f"/ping/{old}/job/0"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/ping/{old}/other?create=1").status_code == 404
    assert client.get(f"/ping/{new}/job").status_code == 200
    assert len(services(medic)) == 1


def test_attack_only_admin_rotates_and_the_key_is_stored_hashed(
    client: TestClient,
    admin_headers: dict[str, str],
    write_headers: dict[str, str],
    read_headers: dict[str, str],
    medic: MedicProcess,
) -> None:
    for headers in (write_headers, read_headers):
        assert client.post("/v2/teams/data/ping-key", headers=headers).status_code == 403
    key = rotate(client, admin_headers, "data")
    with medic.db.session() as session:
        (row,) = session.exec(select(PingKey)).all()
        entries = session.exec(select(AuditEntry)).all()
    assert key not in row.key_hash
    assert all(key not in str(entry.details) for entry in entries)
    assert any(entry.action == "team.ping_key.rotate" for entry in entries)


def test_slugs_are_unique_within_a_team(
    client: TestClient, register: Callable[..., dict[str, Any]], admin_headers: dict[str, str]
) -> None:
    register("job-a", team="data", slug="job")
    second = client.post(
        "/v2/services",
        json={"heartbeat_name": "job-b", "alert_interval": 5, "team": "data", "slug": "job"},
        headers=admin_headers,
    )
    assert second.status_code == 409
    other_team = register("job-c", team="ops", slug="job")
    assert other_team["slug"] == "job"
    bad = client.post(
        "/v2/services",
        json={"heartbeat_name": "job-d", "alert_interval": 5, "slug": "../x"},
        headers=admin_headers,
    )
    assert bad.status_code == 400 and "slug" in bad.json()["message"]


@pytest.mark.parametrize("settings_overrides", [{"medic_rate_limit_heartbeats": 3}])
def test_attack_create_is_rate_limited_per_key(
    client: TestClient, admin_headers: dict[str, str], medic: MedicProcess
) -> None:
    key = rotate(client, admin_headers, "data")
    answers = [client.get(f"/ping/{key}/job-{n}?create=1").status_code for n in range(5)]
    assert answers[:3] == [201, 201, 201]
    assert set(answers[3:]) == {429}
    assert len(services(medic)) == 3
