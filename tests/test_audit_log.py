"""The audit log: filtered, exported as JSON or CSV, kept MEDIC_AUDIT_RETENTION_DAYS."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import AuditEntry
from medic.ops.retention import purge_audit_log
from medic.process import MedicProcess
from tests.cli import Run
from tests.support import Clock


def _mute_and_unmute(client: TestClient, headers: dict[str, str], service_id: int) -> None:
    for action in ("mute", "unmute"):
        path = f"/v2/services/{service_id}/{action}"
        assert client.post(path, json={}, headers=headers).status_code == 200


def test_the_audit_log_exports_as_csv_and_json_with_filters(
    client: TestClient,
    admin_headers: dict[str, str],
    write_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
) -> None:
    service = register("nightly-backup")
    _mute_and_unmute(client, write_headers, service["service_id"])

    response = client.get(
        "/v2/audit/export", params={"format": "csv", "actor": "test-writer"}, headers=admin_headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="medic-audit.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["action"], r["actor"], r["front_door"]) for r in rows] == [
        ("service.mute", "test-writer", "api"),
        ("service.unmute", "test-writer", "api"),
    ]
    assert json.loads(rows[0]["details"])["heartbeat_name"] == "nightly-backup"

    exported = client.get(
        "/v2/audit/export",
        params={"format": "json", "action": "service.register"},
        headers=admin_headers,
    ).json()
    assert [e["action"] for e in exported] == ["service.register"]

    later = client.get(
        "/v2/audit", params={"since": "2999-01-01T00:00:00Z"}, headers=admin_headers
    ).json()["results"]
    assert later["total"] == 0
    naive = client.get("/v2/audit", params={"since": "2026-01-01T00:00"}, headers=admin_headers)
    assert naive.status_code in (400, 422)
    assert client.get("/v2/audit/export", headers=write_headers).status_code == 403


def test_audit_entries_older_than_retention_are_deleted(
    medic: MedicProcess,
    clock: Clock,
    client: TestClient,
    write_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
) -> None:
    service = register("nightly-backup")
    clock.advance(days=60)
    _mute_and_unmute(client, write_headers, service["service_id"])
    clock.advance(days=40)
    assert purge_audit_log(medic.db, 90, clock.now(), batch=1) >= 2
    with medic.db.session() as session:
        left = [e.action for e in session.exec(select(AuditEntry)).all()]
    assert left == ["service.mute", "service.unmute"]


def test_the_cli_exports_the_audit_log(
    medic_cli: Run,
    make_key: Callable[..., str],
    monkeypatch: Any,
    register: Callable[..., dict[str, Any]],
) -> None:
    register("nightly-backup")
    monkeypatch.setenv("MEDIC_API_KEY", make_key("admin", name="auditor"))
    out = medic_cli("audit", "export", "--format", "csv", "--action", "service.register").output
    assert out.splitlines()[0].startswith("audit_id,at,actor")
    assert "service.register" in out and len(out.splitlines()) == 2
    listing = medic_cli("audit", "list", "--front-door", "api").output
    assert "service.register" in listing
