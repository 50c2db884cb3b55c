"""Approvals over the API: an admin who did not request the execution decides, once;
the requester never can; a decline cancels; a decision after expiry changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import ApiKey
from medic.ops import executions
from medic.ops.actor import Actor
from medic.ops.executions import ApproveExecution
from medic.ops.operation import Context
from medic.process import MedicProcess
from tests.conftest import auth
from tests.fakes.receiver import Receiver
from tests.playbook_runs import Runner
from tests.support import Clock


def _post(client: TestClient, key: str, execution_id: int, decision: str) -> Any:
    return client.post(f"/v2/executions/{execution_id}/{decision}", headers=auth(key))


def test_an_admin_approves_once_and_the_execution_runs(
    client: TestClient,
    make_key: Callable[..., str],
    pending: int,
    runner: Runner,
    webhook_receiver: Receiver,
) -> None:
    approver = make_key("admin", name="on-call-lead")
    response = _post(client, approver, pending, "approve")
    assert response.status_code == 200 and response.json()["results"]["state"] == "running"
    assert response.json()["results"]["decided_by"] == "on-call-lead"
    assert runner.run(pending).state == "completed"
    assert len(webhook_receiver.requests) == 1

    again = _post(client, approver, pending, "decline")
    assert again.status_code == 409 and "already decided" in again.json()["message"]


def test_the_requester_can_never_approve_and_a_writer_is_not_an_approver(
    client: TestClient, write_headers: dict[str, str], make_key: Callable[..., str], pending: int
) -> None:
    requester = write_headers["Authorization"].removeprefix("Bearer ")
    refused = _post(client, requester, pending, "approve")
    assert refused.status_code == 403 and "requester" in refused.json()["message"]
    refused = _post(client, make_key("write", name="someone"), pending, "approve")
    assert refused.status_code == 403 and "approvers" in refused.json()["message"]


def test_the_requester_cannot_approve_even_as_an_admin(medic: MedicProcess, pending: int) -> None:
    """The requester is its principal (`key:<id>` of the key that asked), whatever rights
    or name it shows when deciding."""
    with medic.db.session() as session:
        key_id = session.exec(select(ApiKey.api_key_id).where(ApiKey.name == "test-writer")).one()
    requester_as_admin = Actor(
        name="another-name", front_door="api", scopes=frozenset({"admin"}), api_key_id=key_id
    )
    with pytest.raises(Exception, match="requester"):
        executions.approve(
            Context(medic.db, requester_as_admin), ApproveExecution.of(execution_id=pending)
        )


def test_a_decline_cancels_and_is_audited(
    client: TestClient, make_key: Callable[..., str], pending: int, admin_headers: dict[str, str]
) -> None:
    approver = make_key("admin", name="on-call-lead")
    declined = _post(client, approver, pending, "decline")
    assert declined.json()["results"]["state"] == "cancelled"
    assert "declined by on-call-lead" in declined.json()["results"]["error"]
    audit = client.get(
        "/v2/audit", params={"action": "execution.decline"}, headers=admin_headers
    ).json()["results"]["items"]
    assert [(a["actor"], a["outcome"]) for a in audit] == [("on-call-lead", "success")]


def test_an_approval_after_the_deadline_is_refused(
    client: TestClient,
    make_key: Callable[..., str],
    pending: int,
    clock: Clock,
) -> None:
    clock.advance(minutes=61)
    late = _post(client, make_key("admin", name="late"), pending, "approve")
    assert late.status_code == 409 and "expired" in late.json()["message"]
