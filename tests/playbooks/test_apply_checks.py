"""Apply-time checks: a step that uses a secret not set or a script not registered is
reported when the playbook is applied, naming the line (a warning; a refusal with
`strict=true` / `--strict`, writing nothing), and the run still checks again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medic.core.playbook_references import references, unresolved
from tests.cli import Run
from tests.executions.conftest import SECRETS_KEY
from tests.playbook_runs import Runner

PLAYBOOK = """\
name: heal
approval: none
steps:
  - name: call
    type: webhook
    url: "https://heal.example/${secrets.URL_TOKEN}"
    headers:
      Authorization: "Bearer ${secrets.HEAL_TOKEN}"
  - name: fix
    type: script
    script: fix.sh
    args: ["--token=${secrets.HEAL_TOKEN}"]
  - name: clean
    type: script
    script: nope.sh
"""
WARNINGS = [
    "line 6: steps[0].url: secret 'URL_TOKEN' is not set (medic secret set NAME)",
    "line 8: steps[0].headers.Authorization: secret 'HEAL_TOKEN' is not set"
    " (medic secret set NAME)",
    "line 12: steps[1].args[0]: secret 'HEAL_TOKEN' is not set (medic secret set NAME)",
    "line 15: steps[2].script: script 'nope.sh' is not registered (MEDIC_SCRIPTS_DIR)",
]
YAML = {"Content-Type": "application/yaml"}


@pytest.fixture
def cli_scope() -> str:
    return "admin"


@pytest.fixture
def settings_overrides(shared_tmp_path: Path) -> dict[str, Any]:
    scripts = shared_tmp_path / "scripts"
    scripts.mkdir(mode=0o755)
    (scripts / "fix.sh").write_text("#!/bin/sh\necho fixed\n")
    (scripts / "fix.sh").chmod(0o755)
    return {"medic_scripts_dir": scripts, "medic_secrets_key": SECRETS_KEY}


def apply(client: TestClient, headers: dict[str, str], text: str, **params: Any) -> Any:
    return client.post(
        "/v2/playbooks", content=text.encode(), params=params, headers={**headers, **YAML}
    )


def test_an_apply_warns_of_each_missing_secret_and_script_with_its_line(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = apply(client, admin_headers, PLAYBOOK)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["message"] == "playbook heal created (version 1); 4 warning(s)"
    assert body["results"]["warnings"] == WARNINGS

    for name in ("URL_TOKEN", "HEAL_TOKEN"):
        put = client.put(f"/v2/secrets/{name}", json={"value": "v"}, headers=admin_headers)
        assert put.status_code == 201
    again = apply(client, admin_headers, PLAYBOOK).json()
    assert again["message"] == "playbook heal unchanged (version 1); 1 warning(s)"
    assert again["results"]["warnings"] == WARNINGS[3:]


def test_strict_refuses_and_writes_nothing(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    refused = apply(client, admin_headers, PLAYBOOK, strict="true")
    assert refused.status_code == 400
    message = refused.json()["message"]
    assert message.startswith("refused (strict)") and all(w in message for w in WARNINGS)
    assert client.get("/v2/playbooks/heal", headers=admin_headers).status_code == 404
    assert apply(client, admin_headers, PLAYBOOK, strict="maybe").status_code == 400

    fine = (
        PLAYBOOK.split("  - name: call")[0]
        + "  - name: fix\n    type: script\n    script: fix.sh\n"
    )
    assert apply(client, admin_headers, fine, strict="true").json()["results"]["warnings"] == []


def test_the_run_checks_again_what_the_apply_warned_of(
    client: TestClient,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
) -> None:
    register("worker-1")
    assert apply(client, admin_headers, PLAYBOOK).status_code == 201
    execution_id = execute("heal", service="worker-1")["results"]["execution_id"]
    execution = runner.run(execution_id)
    assert execution.state == "failed" and "URL_TOKEN" in (execution.error or "")


def test_the_cli_prints_the_warnings_and_strict_refuses(medic_cli: Run, tmp_path: Path) -> None:
    file = tmp_path / "heal.yaml"
    file.write_text(PLAYBOOK, encoding="utf-8")
    refused = medic_cli("playbook", "apply", "-f", str(file), "--strict", code=1).output
    assert "400: refused (strict)" in refused and "line 15: steps[2].script" in refused

    output = medic_cli("playbook", "apply", "-f", str(file)).output
    assert output.splitlines() == ["created heal v1", *(f"warning: {w}" for w in WARNINGS)]


def test_the_references_rule_alone() -> None:
    found = references(PLAYBOOK)
    assert [(r.kind, r.name, r.line) for r in found] == [
        ("secret", "URL_TOKEN", 6),
        ("secret", "HEAL_TOKEN", 8),
        ("script", "fix.sh", 11),
        ("secret", "HEAL_TOKEN", 12),
        ("script", "nope.sh", 15),
    ]
    everything = unresolved(found, lambda _: True, lambda _: True)
    assert everything == []
    off = unresolved(found, lambda _: True, lambda _: True, secrets_off=True)
    assert off[0] == (
        "line 6: steps[0].url: secret 'URL_TOKEN' cannot be read: secrets are off"
        " (MEDIC_SECRETS_KEY)"
    )
