"""Monitors created from the job: a heartbeat carrying `"monitor": {...}` creates its
service or brings it in line (write keys), through service.register / service.update
and audited; an ingest-only key's config is ignored, said so, and never applied."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import AuditEntry, HeartbeatEvent, Service
from medic.process import MedicProcess
from tests.conftest import auth

CONFIG = {
    "schedule": "0 3 * * *",
    "timezone": "Europe/Paris",
    "max_runtime_seconds": 3600,
    "grace_seconds": 300,
}


def beat(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/v2/heartbeats", json=body, headers=headers)


def service_row(medic: MedicProcess, name: str) -> Service | None:
    with medic.db.session() as session:
        return session.exec(select(Service).where(Service.heartbeat_name == name)).first()


def audit_actions(medic: MedicProcess) -> list[str]:
    with medic.db.session() as session:
        return [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.audit_id))]


def beats(medic: MedicProcess) -> int:
    with medic.db.session() as session:
        return len(session.exec(select(HeartbeatEvent)).all())


def test_a_write_key_creates_the_service_from_its_config_then_beats(
    client: TestClient, write_headers: dict[str, str], medic: MedicProcess
) -> None:
    response = beat(client, write_headers, heartbeat_name="nightly-etl", monitor=CONFIG)
    assert response.status_code == 201, response.text
    assert "created from its monitor config" in response.json()["message"]
    row = service_row(medic, "nightly-etl")
    assert row is not None
    assert (row.schedule_type, row.cron_expression, row.timezone) == (
        "cron",
        "0 3 * * *",
        "Europe/Paris",
    )
    assert (row.max_duration_seconds, row.grace_period_seconds, row.slug) == (
        3600,
        300,
        "nightly-etl",
    )
    assert row.last_heartbeat_at is not None
    assert audit_actions(medic).count("service.register") == 1


def test_the_same_config_again_changes_nothing_and_a_new_one_updates(
    client: TestClient, write_headers: dict[str, str], medic: MedicProcess
) -> None:
    beat(client, write_headers, heartbeat_name="etl", monitor=CONFIG)
    again = beat(client, write_headers, heartbeat_name="etl", monitor=CONFIG)
    assert again.status_code == 201
    assert "already matches" in again.json()["message"]
    assert "service.update" not in audit_actions(medic)

    changed = beat(client, write_headers, heartbeat_name="etl", monitor={"schedule": "30m"})
    assert changed.status_code == 201
    assert "updated from its monitor config" in changed.json()["message"]
    row = service_row(medic, "etl")
    assert row is not None
    assert (row.schedule_type, row.alert_interval) == ("interval", 30)
    assert row.timezone == "Europe/Paris"  # fields left out stay as they are
    assert audit_actions(medic).count("service.update") == 1
    assert beats(medic) == 3


def test_without_a_config_an_unknown_name_stays_a_404(
    client: TestClient, write_headers: dict[str, str], medic: MedicProcess
) -> None:
    assert beat(client, write_headers, heartbeat_name="nobody").status_code == 404
    assert service_row(medic, "nobody") is None


def test_creating_needs_a_schedule(
    client: TestClient, write_headers: dict[str, str], medic: MedicProcess
) -> None:
    response = beat(client, write_headers, heartbeat_name="x", monitor={"grace_seconds": 60})
    assert response.status_code == 400
    assert "monitor.schedule" in response.json()["message"]
    assert service_row(medic, "x") is None


def test_bad_config_fields_are_400s_naming_the_field(
    client: TestClient, write_headers: dict[str, str], medic: MedicProcess
) -> None:
    for monitor, field in (
        ({"schedule": "1h", "colour": "red"}, "colour"),
        ({"schedule": "whenever"}, "schedule"),
        ({"schedule": "1h", "timezone": "Mars/Olympus"}, "timezone"),
        ({"schedule": "1h", "max_runtime_seconds": 0}, "max_runtime_seconds"),
        ({"schedule": "1h", "grace_seconds": -1}, "grace_seconds"),
    ):
        response = beat(client, write_headers, heartbeat_name="x", monitor=monitor)
        assert response.status_code == 400, monitor
        assert field in response.json()["message"], response.json()
    assert service_row(medic, "x") is None


def test_run_signals_by_id_update_the_service(
    client: TestClient,
    register: Callable[..., dict[str, Any]],
    write_headers: dict[str, str],
    medic: MedicProcess,
) -> None:
    service = register("job")
    response = client.post(
        f"/v2/heartbeat/{service['service_id']}/start",
        json={"run_id": "r1", "monitor": {"max_runtime_seconds": 120}},
        headers=write_headers,
    )
    assert response.status_code == 201, response.text
    row = service_row(medic, "job")
    assert row is not None and row.max_duration_seconds == 120


def test_attack_an_ingest_key_with_a_config_cannot_change_a_service(
    client: TestClient,
    register: Callable[..., dict[str, Any]],
    make_key: Callable[..., str],
    medic: MedicProcess,
) -> None:
    register("job", alert_interval=5)
    ingest = auth(make_key("ingest"))
    before = audit_actions(medic)
    response = beat(
        client, ingest, heartbeat_name="job", monitor={"schedule": "1d", "grace_seconds": 9}
    )
    assert response.status_code == 201, response.text  # recorded
    assert "monitor config ignored" in response.json()["message"]
    row = service_row(medic, "job")
    assert row is not None
    assert (row.alert_interval, row.grace_period_seconds) == (5, 0)
    assert audit_actions(medic) == before
    assert beats(medic) == 1


def test_attack_an_ingest_key_with_a_config_cannot_create_a_service(
    client: TestClient, make_key: Callable[..., str], medic: MedicProcess
) -> None:
    ingest = auth(make_key("ingest"))
    response = beat(client, ingest, heartbeat_name="invented", monitor=CONFIG)
    assert response.status_code == 404
    assert service_row(medic, "invented") is None


def test_attack_a_read_key_cannot_post_a_config(
    client: TestClient, read_headers: dict[str, str], medic: MedicProcess
) -> None:
    response = beat(client, read_headers, heartbeat_name="invented", monitor=CONFIG)
    assert response.status_code == 403
    assert service_row(medic, "invented") is None
