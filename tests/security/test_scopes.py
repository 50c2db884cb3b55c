"""Least-privilege scopes, attacked (issue 14, findings 1 and 2), on SQLite and
PostgreSQL. Each test is the attack, with only the key a normal deployment hands out:

* `write` (what every v1 heartbeat client used to hold) operates, but cannot change
  what runs or who approves it: no playbook apply, enable, disable or delete, no
  secrets, no team (channels, approvers), no moving a service to another team, no
  notification target, routing policy or working hours;
* `read` sees no capabilities (ping uuids and URLs, approval links) and cannot post a
  heartbeat;
* `ingest` posts heartbeats and job signals and nothing else, route by route;
* a Slack user never holds more than `write`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import func, select

import medic.ops
from medic.bot.access import actor_for, decider_for
from medic.console import cli
from medic.core.scopes import grants
from medic.models import AuditEntry, Execution, HeartbeatEvent
from medic.ops import teams
from medic.ops.errors import Forbidden
from medic.ops.operation import REGISTRY, Context
from medic.process import MedicProcess
from tests.conftest import auth
from tests.fakes.receiver import Receiver
from tests.security import GUARDED
from tests.test_auth_and_limits import INGEST_ROUTES, call, protected

for _module in pkgutil.iter_modules(medic.ops.__path__):
    importlib.import_module(f"medic.ops.{_module.name}")

YAML = {"Content-Type": "application/yaml"}
PAYMENTS = {"name": "payments", "slack_channel_id": "C0PAYMENTS", "approvers": ["U0BOBBY1"]}
MALLORY = "U0MALLORY"  # a Slack user the attacker controls

# What configures trust and remediation: admin only (DESIGN.md, "Security").
TRUST_OPERATIONS = {
    "playbook.apply",
    "playbook.enable",
    "playbook.disable",
    "playbook.delete",
    "secret.set",
    "secret.delete",
    "secret.list",
    "team.create",
    "team.update",
    "team.delete",
    "target.create",
    "target.update",
    "target.delete",
    "routing_policy.create",
    "routing_policy.update",
    "routing_policy.delete",
    "working_hours.create",
    "working_hours.update",
    "working_hours.delete",
    "api_key.create",
    "api_key.list",
    "api_key.rotate",
    "api_key.revoke",
    "audit.list",
    "audit.export",
    "service.delete",
}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"medic_allowed_webhook_hosts": "127.0.0.1"}


def _audited_refusals(medic: MedicProcess, action: str) -> list[AuditEntry]:
    with medic.db.session() as session:
        return list(
            session.exec(
                select(AuditEntry)
                .where(AuditEntry.action == action)
                .where(AuditEntry.outcome == "refused")
            ).all()
        )


def _playbook(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = client.get("/v2/playbooks/restart-worker", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


# --- write: operates, never configures trust -------------------------------------------


def test_every_operation_that_configures_trust_declares_admin() -> None:
    assert set(REGISTRY) >= TRUST_OPERATIONS
    assert {name for name in TRUST_OPERATIONS if REGISTRY[name].scope != "admin"} == set()
    operating = {"service.register", "service.update", "service.mute", "alert.acknowledge"}
    operating |= {"maintenance.create", "execution.start"}
    assert {REGISTRY[name].scope for name in operating} == {"write"}


def test_write_key_cannot_apply_a_playbook(
    client: TestClient, write_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    answer = client.post("/v2/playbooks", content=GUARDED, headers={**write_headers, **YAML})

    assert answer.status_code == 403
    assert "needs the 'admin' scope" in answer.json()["message"]
    assert client.get("/v2/playbooks", headers=admin_headers).json()["results"]["total"] == 0


def test_write_key_cannot_remove_approval(
    client: TestClient,
    write_headers: dict[str, str],
    admin_headers: dict[str, str],
    apply_playbook: Callable[[str], dict[str, Any]],
) -> None:
    """Finding 1: re-applying with `approval: none` and executing ran it at once."""
    apply_playbook(GUARDED)
    unguarded = GUARDED.replace("approval: required", "approval: none")

    answer = client.post("/v2/playbooks", content=unguarded, headers={**write_headers, **YAML})

    assert answer.status_code == 403
    shown = _playbook(client, admin_headers)
    assert (shown["version"], shown["definition"]["approval"]) == (1, "required")
    started = client.post("/v2/playbooks/restart-worker/execute", json={}, headers=write_headers)
    assert started.status_code == 202
    assert started.json()["results"]["state"] == "pending_approval"


def test_write_key_cannot_disable_enable_or_delete_a_playbook(
    client: TestClient,
    write_headers: dict[str, str],
    admin_headers: dict[str, str],
    apply_playbook: Callable[[str], dict[str, Any]],
) -> None:
    apply_playbook(GUARDED)
    path = "/v2/playbooks/restart-worker"

    for enabled in (False, True):
        answer = client.patch(path, json={"enabled": enabled}, headers=write_headers)
        assert answer.status_code == 403, answer.text
    assert client.delete(path, headers=write_headers).status_code == 403
    shown = _playbook(client, admin_headers)
    assert (shown["enabled"], shown["version"]) == (True, 1)


def test_write_key_cannot_send_a_secret_through_a_new_playbook(
    client: TestClient, write_headers: dict[str, str], webhook_receiver: Receiver
) -> None:
    """Finding 1: a webhook step whose body is `${secrets.RESTART_TOKEN}`."""
    leak = (
        "name: leak\napproval: none\nsteps:\n"
        f"  - {{name: send, type: webhook, url: '{webhook_receiver.url}/x',"
        " body: '${secrets.RESTART_TOKEN}'}\n"
    )
    applied = client.post("/v2/playbooks", content=leak, headers={**write_headers, **YAML})
    secret = client.put(
        "/v2/secrets/RESTART_TOKEN", json={"value": "attacker-chosen"}, headers=write_headers
    )

    assert (applied.status_code, secret.status_code) == (403, 403)
    started = client.post("/v2/playbooks/leak/execute", json={}, headers=write_headers)
    assert started.status_code == 404
    assert webhook_receiver.requests == []


def test_write_key_cannot_make_someone_an_approver(
    client: TestClient, write_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    """Finding 1: `PATCH /v2/teams/payments {"approvers": ["U…"]}`."""
    assert client.post("/v2/teams", json=PAYMENTS, headers=admin_headers).status_code == 201

    patched = client.patch(
        "/v2/teams/payments", json={"approvers": [MALLORY]}, headers=write_headers
    )
    created = client.post(
        "/v2/teams", json={"name": "mallorys", "approvers": [MALLORY]}, headers=write_headers
    )

    assert (patched.status_code, created.status_code) == (403, 403)
    assert "needs the 'admin' scope" in patched.json()["message"]
    team = client.get("/v2/teams/payments", headers=write_headers).json()["results"]
    assert team["approvers"] == ["U0BOBBY1"]
    assert client.get("/v2/teams/mallorys", headers=write_headers).status_code == 404


def test_write_key_cannot_change_a_teams_channel_or_delete_it(
    client: TestClient, write_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    assert client.post("/v2/teams", json=PAYMENTS, headers=admin_headers).status_code == 201

    moved = client.patch(
        "/v2/teams/payments", json={"slack_channel_id": "C0ATTACKER"}, headers=write_headers
    )
    deleted = client.delete("/v2/teams/payments", headers=write_headers)

    assert (moved.status_code, deleted.status_code) == (403, 403)
    team = client.get("/v2/teams/payments", headers=write_headers).json()["results"]
    assert team["slack_channel_id"] == "C0PAYMENTS"


def test_write_key_cannot_move_a_service_to_another_team(
    client: TestClient,
    medic: MedicProcess,
    write_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    """A service's team picks its approvers and channel: moving it is an admin's call.
    Registering a new service with a team, and every other change, stays `write`."""
    created = client.post(
        "/v2/services",
        json={"heartbeat_name": "worker-1", "team": "payments", "alert_interval": 5},
        headers=write_headers,
    )
    assert created.status_code == 201, created.text
    service_id = created.json()["results"]["service_id"]

    v2 = client.patch(
        f"/v2/services/{service_id}", json={"team": "mallorys"}, headers=write_headers
    )
    v1 = client.post("/service/worker-1", json={"team": "mallorys"}, headers=write_headers)

    assert (v2.status_code, v1.status_code) == (403, 403)
    assert "changing a service's team needs the 'admin' scope" in v2.json()["message"]
    shown = client.get(f"/v2/services/{service_id}", headers=write_headers).json()["results"]
    assert shown["team"] == "payments"
    assert len(_audited_refusals(medic, "service.update")) == 2
    # Operating is still allowed, a team left as it is included; an admin may move it.
    same = {"team": "payments", "runbook": "https://wiki.example/worker"}
    kept = client.patch(f"/v2/services/{service_id}", json=same, headers=write_headers)
    assert kept.status_code == 200, kept.text
    moved = client.patch(
        f"/v2/services/{service_id}", json={"team": "platform"}, headers=admin_headers
    )
    assert moved.status_code == 200 and moved.json()["results"]["team"] == "platform"


def test_write_key_cannot_create_a_notification_target(
    client: TestClient, write_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    """Finding 1: a target that receives every alert, and a policy to route to it."""
    target = {"name": "exfil", "kind": "webhook", "config": {"url": "https://evil.example/a"}}
    policy = {"name": "everything", "rules": [{"targets": ["exfil"]}]}
    hours = {
        "name": "never",
        "timezone": "UTC",
        "days": "mon-fri",
        "start": "09:00",
        "end": "17:00",
    }

    answers = {
        "target": client.post("/v2/notification-targets", json=target, headers=write_headers),
        "policy": client.post("/v2/routing-policies", json=policy, headers=write_headers),
        "hours": client.post("/v2/working-hours", json=hours, headers=write_headers),
    }

    assert {what: a.status_code for what, a in answers.items()} == dict.fromkeys(answers, 403)
    for path in ("/v2/notification-targets", "/v2/routing-policies", "/v2/working-hours"):
        assert client.get(path, headers=admin_headers).json()["results"]["total"] == 0


def test_a_slack_user_never_holds_more_than_write(
    medic: MedicProcess, admin_headers: dict[str, str], client: TestClient
) -> None:
    """Slack is a door for operating and deciding, never for configuring trust."""
    assert client.post("/v2/teams", json=PAYMENTS, headers=admin_headers).status_code == 201
    operator = actor_for(medic.settings, MALLORY, "T0MEDIC")
    decider = decider_for(MALLORY, "T0MEDIC")
    assert not grants(operator.scopes, "admin") and not grants(decider.scopes, "admin")

    command = teams.UpdateTeam.of(name="payments", changes={"approvers": [MALLORY]})
    for slack_user in (operator, decider):
        with pytest.raises(Forbidden, match="'admin' scope"):
            teams.update_team(Context(medic.db, slack_user), command)
    team = client.get("/v2/teams/payments", headers=admin_headers).json()["results"]
    assert team["approvers"] == ["U0BOBBY1"]


# --- read: looks, without capabilities --------------------------------------------------


def test_read_key_sees_no_ping_url(
    client: TestClient,
    register: Callable[..., dict[str, Any]],
    read_headers: dict[str, str],
    write_headers: dict[str, str],
) -> None:
    """Finding 2: `GET /v2/services` showed `uuid`/`ping_url` to read scope."""
    registered = register("nightly-backup")
    capability = registered["uuid"]
    assert capability and registered["ping_url"].endswith(capability)  # an admin sees it

    answers = [
        client.get("/v2/services", headers=read_headers),
        client.get(f"/v2/services/{registered['service_id']}", headers=read_headers),
        client.get("/service", headers=read_headers),
        client.get("/service/nightly-backup", headers=read_headers),
    ]

    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert capability not in answer.text and "/ping/" not in answer.text
    listed = answers[0].json()["results"]["items"][0]
    assert (listed["uuid"], listed["ping_url"]) == (None, None)
    # A key that may post heartbeats itself sees where to post them.
    mine = client.get(f"/v2/services/{registered['service_id']}", headers=write_headers)
    assert mine.json()["results"]["uuid"] == capability


def test_read_key_sees_no_approval_link(
    client: TestClient,
    medic: MedicProcess,
    read_headers: dict[str, str],
    write_headers: dict[str, str],
    apply_playbook: Callable[[str], dict[str, Any]],
) -> None:
    apply_playbook(GUARDED)
    started = client.post("/v2/playbooks/restart-worker/execute", json={}, headers=write_headers)
    execution_id = started.json()["results"]["execution_id"]
    with medic.db.session() as session:
        execution = session.get(Execution, execution_id)
        assert execution is not None and execution.approval_token
        token = execution.approval_token

    answers = [
        client.get(f"/v2/executions/{execution_id}", headers=read_headers),
        client.get("/v2/notifications", headers=read_headers),
    ]

    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert token not in answer.text and "/approvals/" not in answer.text
    assert token not in started.text


def test_read_key_cannot_post_a_heartbeat(
    client: TestClient,
    medic: MedicProcess,
    register: Callable[..., dict[str, Any]],
    read_headers: dict[str, str],
) -> None:
    service_id = register("nightly-backup")["service_id"]
    beat = {"heartbeat_name": "nightly-backup", "status": "DOWN"}
    attempts = {
        "v1": client.post("/heartbeat", json=beat, headers=read_headers),
        "v1 prefixed": client.post("/v1/heartbeat", json=beat, headers=read_headers),
        "v2": client.post("/v2/heartbeats", json=beat, headers=read_headers),
    }
    for signal in ("start", "complete", "fail"):
        attempts[signal] = client.post(f"/v2/heartbeat/{service_id}/{signal}", headers=read_headers)

    assert {what: a.status_code for what, a in attempts.items()} == dict.fromkeys(attempts, 403)
    assert all("needs the 'ingest' scope" in a.json()["message"] for a in attempts.values())
    with medic.db.session() as session:
        assert session.exec(select(func.count()).select_from(HeartbeatEvent)).one() == 0


# --- ingest: heartbeats and job signals, nothing else -----------------------------------


def test_ingest_key_can_only_post_heartbeats(
    client: TestClient,
    medic: MedicProcess,
    register: Callable[..., dict[str, Any]],
    make_key: Callable[..., str],
) -> None:
    """Walk every protected route (tests/test_auth_and_limits.py's route table): an
    ingest key is refused everywhere but on the heartbeat and job-signal routes, where
    its heartbeats are recorded."""
    service_id = register("nightly-backup")["service_id"]
    ingest = auth(make_key("ingest", name="cron-nightly-backup"))
    others = [e for e in protected(client.app) if (e.method, e.path) not in INGEST_ROUTES]
    assert len(others) > 50

    refused = {str(e): call(client, e, ingest) for e in others}

    assert {e: a.status_code for e, a in refused.items() if a.status_code != 403} == {}
    beat = {"heartbeat_name": "nightly-backup", "status": "UP"}
    posted = [
        client.post("/heartbeat", json=beat, headers=ingest),
        client.post("/v1/heartbeat", json=beat, headers=ingest),
        client.post("/v2/heartbeats", json=beat, headers=ingest),
        *(
            client.post(f"/v2/heartbeat/{service_id}/{signal}", headers=ingest)
            for signal in ("start", "complete", "fail")
        ),
    ]
    assert [a.status_code for a in posted] == [201] * 6, [a.text for a in posted]
    with medic.db.session() as session:
        assert session.exec(select(func.count()).select_from(HeartbeatEvent)).one() == 6


def test_an_ingest_key_is_created_by_the_api_and_the_cli(
    client: TestClient,
    medic: MedicProcess,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the README recommends for services and cron jobs."""
    created = client.post(
        "/v2/keys", json={"name": "cron-backups", "scopes": ["ingest"]}, headers=admin_headers
    )
    assert created.status_code == 201 and created.json()["results"]["scopes"] == ["ingest"]
    key = auth(created.json()["results"]["key"])
    assert client.get("/v2/services", headers=key).status_code == 403

    monkeypatch.setattr("medic.cli.keys._medic", lambda: medic)
    made = CliRunner().invoke(cli, ["keys", "create", "cron-reports", "--scope", "ingest"])
    assert made.exit_code == 0, made.output
    assert "with scopes ingest" in made.output
    plaintext = made.output.strip().splitlines()[-1]
    assert client.get("/v2/services", headers=auth(plaintext)).status_code == 403
