"""Typed principals, attacked (issue 14, findings 5 and 12), on SQLite and PostgreSQL:

* a key cannot be named like a principal (`slack:UAPPR0001`), and a key that already
  has such a name still decides as `key:<id>`, never as the Slack approver;
* the requester of an execution is its principal: the same Slack user, or the same
  key under whatever name, can never approve it;
* approving over MCP is refused by default, even for an admin key and someone else's
  request; declining stays allowed; MEDIC_MCP_MAY_APPROVE opens approving to admins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.bot.access import decider_for
from medic.console import cli
from medic.models import ApiKey, AuditEntry, Execution
from medic.ops import executions
from medic.ops.actor import SYSTEM, Actor, cli_operator
from medic.ops.errors import Forbidden
from medic.ops.executions import ApproveExecution
from medic.ops.operation import Context
from medic.process import MedicProcess
from tests.conftest import auth
from tests.mcp.conftest import error, result
from tests.mcp_client import Connect
from tests.security import GUARDED

APPROVER = "UAPPR0001"
WORKSPACE = "T0MEDIC"


@pytest.fixture
def mcp_may_approve() -> bool:
    return False


@pytest.fixture
def settings_overrides(mcp_may_approve: bool) -> dict[str, Any]:
    return {"medic_mcp_may_approve": mcp_may_approve}


@pytest.fixture
def payments(
    client: TestClient,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
) -> int:
    """The payments team (APPROVER approves), worker-1 in it, the playbook; the id of
    worker-1."""
    team = {"name": "payments", "approvers": [APPROVER]}
    assert client.post("/v2/teams", json=team, headers=admin_headers).status_code == 201
    apply_playbook(GUARDED)
    return int(register("worker-1", team="payments")["service_id"])


def _request(client: TestClient, key: str) -> int:
    answer = client.post(
        "/v2/playbooks/restart-worker/execute", json={"service": "worker-1"}, headers=auth(key)
    )
    assert answer.status_code == 202 and answer.json()["results"]["state"] == "pending_approval"
    return int(answer.json()["results"]["execution_id"])


def _state(medic: MedicProcess, execution_id: int) -> tuple[str, str | None]:
    with medic.db.session() as session:
        execution = session.get(Execution, execution_id)
        assert execution is not None
        return execution.state, execution.decided_by


def test_principals_are_typed() -> None:
    assert Actor("ci", "api", frozenset({"write"}), api_key_id=7).principal == "key:7"
    slack = Actor("slack:U1", "slack", slack_user_id="U1", slack_team_id="T1")
    assert slack.principal == "slack:T1/U1"
    assert Actor("slack:U1", "slack", slack_user_id="U1").principal == "slack:U1"
    assert SYSTEM.principal == "system"
    assert Actor("hook:restart-worker", "api").principal == "hook:restart-worker"
    assert cli_operator().principal == "cli:operator"
    # A name is only a name: the same name on a key is that key.
    assert Actor("slack:U1", "api", api_key_id=3).principal == "key:3"


@pytest.mark.parametrize(
    "name",
    [
        f"slack:{APPROVER}",
        f"slack:{WORKSPACE}/{APPROVER}",
        "key:1",
        "hook:restart-worker",
        "system:medic",
        "system:",
        "on:call",
    ],
)
def test_key_named_like_a_slack_user_is_refused(
    name: str, client: TestClient, admin_headers: dict[str, str]
) -> None:
    answer = client.post(
        "/v2/keys", json={"name": name, "scopes": ["write"]}, headers=admin_headers
    )

    assert answer.status_code == 400, answer.text
    assert "must not contain" in answer.json()["message"]  # ':' (and '/' before it)
    listed = client.get("/v2/keys", headers=admin_headers).json()["results"]["items"]
    assert [k["name"] for k in listed] == ["test-admin"]


def test_the_cli_refuses_a_key_named_like_a_principal(
    medic: MedicProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("medic.cli.keys._medic", lambda: medic)
    refused = CliRunner().invoke(cli, ["keys", "create", f"slack:{APPROVER}", "--scope", "write"])
    assert refused.exit_code != 0 and "must not contain ':'" in refused.output
    with medic.db.session() as session:
        assert session.exec(select(ApiKey)).all() == []


def test_a_key_named_like_the_approver_before_the_fix_cannot_approve(
    client: TestClient,
    medic: MedicProcess,
    make_key: Callable[..., str],
    payments: int,
    admin_headers: dict[str, str],
) -> None:
    """Finding 5: a key named `slack:UAPPR0001` approved over REST. Keys made before
    names were checked keep their name; deciding still compares principals."""
    execution_id = _request(client, make_key("write", name="requester"))
    impostor = make_key("write", name="impostor")
    with medic.db.session() as session:
        row = session.exec(select(ApiKey).where(ApiKey.name == "impostor")).one()
        row.name = f"slack:{APPROVER}"
        session.add(row)

    refused = client.post(f"/v2/executions/{execution_id}/approve", headers=auth(impostor))

    assert refused.status_code == 403, refused.text
    assert "only the team's approvers may decide" in refused.json()["message"]
    assert _state(medic, execution_id) == ("pending_approval", None)
    # The approver, as Slack signed them, may.
    approver = decider_for(APPROVER, WORKSPACE)
    approved = executions.approve(
        Context(medic.db, approver), ApproveExecution.of(execution_id=execution_id)
    )
    assert (approved.state, approved.decided_by) == ("running", f"slack:{APPROVER}")


def test_the_slack_user_who_requested_cannot_approve_even_as_an_approver(
    client: TestClient, medic: MedicProcess, make_key: Callable[..., str], payments: int
) -> None:
    requester = Actor(
        f"slack:{APPROVER}",
        "slack",
        frozenset({"write"}),
        slack_user_id=APPROVER,
        slack_team_id=WORKSPACE,
    )
    command = executions.ExecutePlaybook.of(playbook="restart-worker", service="worker-1")
    execution_id = executions.execute_playbook(Context(medic.db, requester), command).execution_id

    for decider in (decider_for(APPROVER, WORKSPACE), decider_for(APPROVER)):
        with pytest.raises(Forbidden, match="requester"):
            executions.approve(
                Context(medic.db, decider), ApproveExecution.of(execution_id=execution_id)
            )
    assert _state(medic, execution_id) == ("pending_approval", None)
    with medic.db.session() as session:
        stored = session.get(Execution, execution_id)
        assert stored is not None and stored.requested_by == f"slack:{WORKSPACE}/{APPROVER}"
    reader = auth(make_key("read"))
    shown = client.get(f"/v2/executions/{execution_id}", headers=reader).json()["results"]
    assert shown["requested_by"] == f"slack:{APPROVER}", "views show the name, not the ids"


@pytest.mark.anyio
async def test_mcp_admin_cannot_approve_by_default(
    client: TestClient,
    medic: MedicProcess,
    connect: Connect,
    make_key: Callable[..., str],
    payments: int,
) -> None:
    """Finding 12: an assistant holding an admin key approved another assistant's
    request over MCP."""
    first = _request(client, make_key("write", name="assistant-a"))
    second = _request(client, make_key("write", name="assistant-a2"))

    async with connect(make_key("admin", name="assistant-b")) as mcp:
        refused = error(await mcp.call_tool("approve_execution", {"execution_id": first}))
        declined = result(await mcp.call_tool("decline_execution", {"execution_id": second}))

    assert "a human approves in Slack or on the approval page" in refused
    assert _state(medic, first) == ("pending_approval", None)
    assert (declined["state"], declined["decided_by"]) == ("cancelled", "assistant-b")
    with medic.db.session() as session:
        entry = session.exec(
            select(AuditEntry)
            .where(AuditEntry.action == "execution.approve")
            .where(AuditEntry.outcome == "refused")
        ).one()
    assert (entry.actor, entry.front_door, entry.target_id) == ("assistant-b", "mcp", str(first))


@pytest.mark.anyio
@pytest.mark.parametrize("mcp_may_approve", [True])
async def test_mcp_may_approve_opens_approving_to_admin_keys_only(
    client: TestClient,
    medic: MedicProcess,
    connect: Connect,
    make_key: Callable[..., str],
    payments: int,
) -> None:
    execution_id = _request(client, make_key("write", name="assistant-a"))

    async with connect(make_key("write", name="assistant-w")) as writer:
        refused = error(await writer.call_tool("approve_execution", {"execution_id": execution_id}))
    async with connect(make_key("admin", name="assistant-b")) as admin:
        approved = result(
            await admin.call_tool("approve_execution", {"execution_id": execution_id})
        )

    assert "only the team's approvers may decide" in refused
    assert (approved["state"], approved["decided_by"]) == ("running", "assistant-b")
