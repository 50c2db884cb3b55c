"""Secrets are sealed at rest (AES-256-GCM under MEDIC_SECRETS_KEY), write-only
through the API, and never appear in a response, the audit log or the database."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.core.sealing import SealBroken, seal, unseal
from medic.models import AuditEntry, Secret
from medic.ops import secrets
from medic.ops.errors import NotFound
from medic.process import MedicProcess
from tests.cli import Run

KEY = base64.b64encode(bytes(range(32))).decode()
TOKEN = "tok-7c1f0e2a-very-secret"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"medic_secrets_key": KEY}


def test_a_sealed_value_opens_only_under_its_key_and_name() -> None:
    key = os.urandom(32)
    sealed = seal(key, "RESTART_TOKEN", TOKEN)
    assert TOKEN.encode() not in sealed
    assert unseal(key, "RESTART_TOKEN", sealed) == TOKEN
    assert seal(key, "RESTART_TOKEN", TOKEN) != sealed, "a fresh nonce every time"
    with pytest.raises(SealBroken, match="RESTART_TOKEN"):
        unseal(os.urandom(32), "RESTART_TOKEN", sealed)
    with pytest.raises(SealBroken):
        unseal(key, "OTHER_NAME", sealed)
    with pytest.raises(SealBroken):
        unseal(key, "RESTART_TOKEN", sealed[:-1] + bytes([sealed[-1] ^ 1]))


def test_secrets_are_write_only_and_never_shown(
    client: TestClient, admin_headers: dict[str, str], medic: MedicProcess
) -> None:
    put = client.put("/v2/secrets/RESTART_TOKEN", json={"value": TOKEN}, headers=admin_headers)
    assert put.status_code == 201, put.text
    again = client.put(
        "/v2/secrets/RESTART_TOKEN", json={"value": TOKEN + "2"}, headers=admin_headers
    )
    assert again.status_code == 200 and again.json()["message"] == "secret replaced"
    listing = client.get("/v2/secrets", headers=admin_headers)
    assert [s["name"] for s in listing.json()["results"]["items"]] == ["RESTART_TOKEN"]
    audit = client.get("/v2/audit", headers=admin_headers)
    for response in (put, again, listing, audit):
        assert TOKEN not in response.text

    with medic.db.session() as session:
        (row,) = session.exec(select(Secret)).all()
        entries = session.exec(select(AuditEntry).where(AuditEntry.target_type == "secret"))
        actions = [e.action for e in entries.all()]
    assert TOKEN.encode() not in row.sealed_value
    assert actions == ["secret.create", "secret.update"]
    assert secrets.reveal(medic.db, medic.settings, {"RESTART_TOKEN"}) == {
        "RESTART_TOKEN": TOKEN + "2"
    }
    with pytest.raises(NotFound, match="MISSING"):
        secrets.reveal(medic.db, medic.settings, {"RESTART_TOKEN", "MISSING"})

    assert client.delete("/v2/secrets/RESTART_TOKEN", headers=admin_headers).status_code == 200
    assert client.delete("/v2/secrets/RESTART_TOKEN", headers=admin_headers).status_code == 404


def test_only_admins_touch_secrets(
    client: TestClient, write_headers: dict[str, str], read_headers: dict[str, str]
) -> None:
    for headers in (write_headers, read_headers):
        put = client.put("/v2/secrets/X", json={"value": "v"}, headers=headers)
        assert put.status_code == 403
        assert client.get("/v2/secrets", headers=headers).status_code == 403


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("lower_case", {"value": "v"}, "upper-case letters"),
        ("TOKEN", {"value": ""}, "value"),
        ("TOKEN", {"value": "v", "extra": 1}, "extra"),
    ],
)
def test_bad_secrets_are_refused_with_a_reason(
    client: TestClient, admin_headers: dict[str, str], name: str, body: dict[str, Any], message: str
) -> None:
    response = client.put(f"/v2/secrets/{name}", json=body, headers=admin_headers)
    assert response.status_code in (400, 422)
    assert message in response.text


def test_without_a_secrets_key_setting_a_secret_is_a_conflict_saying_what_to_set(
    client: TestClient,
    admin_headers: dict[str, str],
    medic: MedicProcess,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`medic api` (no key file: that is `medic up`'s) without MEDIC_SECRETS_KEY: the
    feature is off, which is this server's configuration, not an outage (never 5xx)."""
    monkeypatch.setattr(medic.settings, "medic_secrets_key", None)
    response = client.put("/v2/secrets/TOKEN", json={"value": "v"}, headers=admin_headers)
    assert response.status_code == 409
    assert "set MEDIC_SECRETS_KEY" in response.json()["message"]
    listing = client.get("/v2/secrets", headers=admin_headers)
    assert listing.status_code == 200 and listing.json()["results"]["items"] == []


def test_the_cli_sets_a_secret_from_stdin_and_lists_names_only(
    medic_cli: Run, make_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIC_API_KEY", make_key("admin", name="root"))
    from click.testing import CliRunner

    from medic.console import cli

    result = CliRunner().invoke(cli, ["secret", "set", "RESTART_TOKEN", "--stdin"], input=TOKEN)
    assert result.exit_code == 0, result.output
    assert "secret created: RESTART_TOKEN" in result.output
    listing = medic_cli("secret", "list").output
    assert "RESTART_TOKEN" in listing and TOKEN not in listing and "root" in listing
