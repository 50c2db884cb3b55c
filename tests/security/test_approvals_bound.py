"""Approvals bound to what was shown (issue 14, findings 3, 4 and 13), each written as
the attack that must fail, on SQLite and PostgreSQL:

* an Accept button decides the request it was posted for and nothing else: not another
  execution that took (or was given) its id, not another version, not a bare id;
* ids people saw are never handed out again, on SQLite too;
* deleting a playbook archives it: its versions and executions stay readable, it never
  runs again, its name can be applied again, its waiting executions are cancelled;
* disabling a playbook cancels its pending and waiting executions, and nobody can
  approve them afterwards (409), in Slack, over REST or on the approval page;
* the approval page decides on exactly `accept` or `decline`, and cannot be framed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import col, select

from medic.models import AuditEntry, Execution
from medic.models.columns import NEVER_REUSE_IDS
from medic.notify.blocks.approvals import ACCEPT_ACTION
from medic.process import MedicProcess
from tests.fakes.receiver import Receiver
from tests.fakes.slack import FakeSlack, block_actions_body
from tests.playbook_runs import Runner
from tests.slack import conftest as slack_fixtures
from tests.slack import test_approvals as slack_approvals
from tests.slack.conftest import SlackDriver, button
from tests.slack.test_approvals import BOB, PLAYBOOK, TEAM_CHANNEL, Request

# The Slack door's fixtures (tests/slack): Medic against the fake Slack, the payments
# team whose approver is BOB, and restart-worker's request posted in its channel.
settings_overrides = slack_fixtures.settings_overrides
slack = slack_fixtures.slack
extra_settings = slack_approvals.extra_settings
payments = slack_approvals.payments
deliver = slack_approvals.deliver
requested = slack_approvals.requested

# Every table whose ids people see (URLs, buttons, messages, principals `key:<id>`).
SHOWN_ID_TABLES = (
    "services",
    "alerts",
    "executions",
    "playbooks",
    "maintenance_windows",
    "api_keys",
    "teams",
    "notification_targets",
    "routing_policies",
    "working_hours",
    "secrets",
    "notifications",
    "deliveries",
    "audit_log",
)
WAITING_PLAYBOOK = """
name: drain-and-restart
approval: none
steps:
  - name: drain
    type: wait
    duration: 10m
  - name: restart
    type: webhook
    url: "{url}/drain-and-restart"
"""


def _audit(medic: MedicProcess, action: str) -> list[AuditEntry]:
    with medic.db.session() as session:
        return list(
            session.exec(
                select(AuditEntry)
                .where(AuditEntry.action == action)
                .order_by(col(AuditEntry.audit_id))
            ).all()
        )


def _told(fake_slack: FakeSlack, count: int) -> list[str]:
    fake_slack.wait_for("response_url", count)
    return [str(c.body["text"]) for c in fake_slack.responses() if c.path.endswith("/click")]


def _execution(medic: MedicProcess, execution_id: int) -> Execution:
    with medic.db.session() as session:
        execution = session.get(Execution, execution_id)
        assert execution is not None
        return execution


def _click(slack: SlackDriver, request: Request, value: str, user_id: str = BOB) -> None:
    """An Accept click on `request`'s message in the team channel, the button carrying
    `value` (what an attacker, or a stale message, sends)."""
    body = block_actions_body(
        ACCEPT_ACTION,
        value,
        user_id=user_id,
        channel_id=TEAM_CHANNEL,
        message_ts=request.ts,
        blocks=request.blocks,
        text=request.text,
        response_url=slack.fake.response_url("click"),
    )
    assert slack.post(body).status_code == 200


def test_stale_accept_button_cannot_approve_a_different_execution(
    medic: MedicProcess,
    client: TestClient,
    admin_headers: dict[str, str],
    slack: SlackDriver,
    fake_slack: FakeSlack,
    requested: Request,
    execute: Callable[..., dict[str, Any]],
    webhook_receiver: Receiver,
) -> None:
    """An approver's old message (a request since declined) must not approve the new
    request that followed, whatever id its button is made to carry."""
    old_value = button(requested.blocks, ACCEPT_ACTION)["value"]
    _, old_version, old_token = old_value.split(":")
    declined = client.post(
        f"/v2/executions/{requested.execution_id}/decline", headers=admin_headers
    )
    assert declined.status_code == 200, declined.text
    newer = execute("restart-worker", service="worker-1", reason="again")["results"]
    newer_id = int(newer["execution_id"])
    assert newer["state"] == "pending_approval" and newer_id != requested.execution_id
    with medic.db.session() as session:
        newer_token = session.get(Execution, newer_id).approval_token  # type: ignore[union-attr]

    # The stale button as it is; then edited to name the new execution (its id, its
    # version), keeping the old token; then the new id bare, as buttons used to be.
    _click(slack, requested, old_value)
    _click(slack, requested, f"{newer_id}:{old_version}:{old_token}")
    _click(slack, requested, str(newer_id))
    # The right id and token, at a version the execution does not pin.
    _click(slack, requested, f"{newer_id}:2:{newer_token}")

    # Each click is answered privately, in whatever order the clicks finish.
    told = _told(fake_slack, 4)
    for says in (
        "already decided",
        "not the one pending",
        "does not name a current approval request",
        "was for version 2, execution",
    ):
        assert sum(says in text for text in told) == 1, (says, told)
    assert fake_slack.calls("chat.update") == []
    assert _execution(medic, newer_id).state == "pending_approval"
    assert _execution(medic, newer_id).decided_by is None
    assert webhook_receiver.requests == []
    refused = [e for e in _audit(medic, "execution.approve") if e.outcome == "refused"]
    assert sorted(int(e.target_id or 0) for e in refused) == [
        requested.execution_id,
        newer_id,
        newer_id,
    ]
    assert all(e.actor.startswith("slack:") and e.front_door == "slack" for e in refused)


def test_ids_are_never_reused_after_delete(
    medic: MedicProcess,
    client: TestClient,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    webhook_receiver: Receiver,
) -> None:
    """Delete the newest service, playbook and execution, create another: new ids."""
    register("worker-0")
    newest = register("worker-1")
    gone = client.delete(f"/v2/services/{newest['service_id']}", headers=admin_headers)
    assert gone.status_code == 200, gone.text
    assert register("worker-2")["service_id"] > newest["service_id"]

    first = apply_playbook(PLAYBOOK.format(url=webhook_receiver.url))
    deleted = client.delete("/v2/playbooks/restart-worker", headers=admin_headers)
    assert deleted.status_code == 200, deleted.text
    again = apply_playbook(PLAYBOOK.format(url=webhook_receiver.url))
    assert again["created"] and again["playbook_id"] > first["playbook_id"]

    started = int(execute("restart-worker", service="worker-2")["results"]["execution_id"])
    with medic.db.engine.begin() as connection:  # as a retention job or a cascade would
        connection.execute(text(f"DELETE FROM executions WHERE execution_id = {started}"))
    assert int(execute("restart-worker", service="worker-2")["results"]["execution_id"]) > started

    if medic.db.dialect == "sqlite":
        # Every table whose ids people see says AUTOINCREMENT, and so do the models.
        with medic.db.engine.connect() as connection:
            schemas = dict(
                connection.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
                ).all()
            )
        for table in SHOWN_ID_TABLES:
            assert "AUTOINCREMENT" in schemas[table], table
            model_table = Execution.metadata.tables[table]
            assert model_table.kwargs.get("sqlite_autoincrement") is True, table
        assert NEVER_REUSE_IDS == {"sqlite_autoincrement": True}


def test_deleting_a_playbook_keeps_its_history(
    medic: MedicProcess,
    client: TestClient,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
    webhook_receiver: Receiver,
) -> None:
    register("worker-1")
    applied = apply_playbook(PLAYBOOK.format(url=webhook_receiver.url))
    ran = int(execute("restart-worker", service="worker-1")["results"]["execution_id"])
    approved = client.post(f"/v2/executions/{ran}/approve", headers=admin_headers)
    assert approved.status_code == 200, approved.text
    assert runner.run(ran).state == "completed"
    pending = int(execute("restart-worker", service="worker-1")["results"]["execution_id"])

    deleted = client.delete("/v2/playbooks/restart-worker", headers=admin_headers)
    assert deleted.status_code == 200, deleted.text

    # The history stays: the finished execution with its steps, and the pinned version.
    history = client.get(f"/v2/executions/{ran}", headers=admin_headers).json()["results"]
    assert history["state"] == "completed" and history["playbook"] == "restart-worker"
    assert [step["name"] for step in history["steps"]] == ["restart"]
    [archived] = client.get("/v2/playbooks?archived=true", headers=admin_headers).json()["results"][
        "items"
    ]
    assert archived["playbook_id"] == applied["playbook_id"] and archived["archived_at"]
    assert archived["enabled"] is False
    version = client.get(f"/v2/playbooks/{archived['name']}/versions/1", headers=admin_headers)
    assert (
        version.status_code == 200 and "restart-worker" in version.json()["results"]["source_yaml"]
    )
    listed = client.get("/v2/playbooks", headers=admin_headers).json()["results"]
    assert listed["total"] == 0, "an archived playbook is not among the live ones"

    # Its waiting execution is cancelled, audited, and can no longer be approved.
    cancelled = _execution(medic, pending)
    assert cancelled.state == "cancelled" and "deleted" in (cancelled.error or "")
    [entry] = _audit(medic, "execution.cancel")
    assert (entry.target_id, entry.outcome) == (str(pending), "cancelled")
    refused = client.post(f"/v2/executions/{pending}/approve", headers=admin_headers)
    assert refused.status_code == 409

    # It never runs again, by its old name or its archived one; the name is free.
    assert execute("restart-worker", expect=404, service="worker-1")
    assert execute(archived["name"], expect=409, service="worker-1")
    enable = client.patch(
        f"/v2/playbooks/{archived['name']}", json={"enabled": True}, headers=admin_headers
    )
    assert enable.status_code == 409
    again = apply_playbook(PLAYBOOK.format(url=webhook_receiver.url))
    assert again["created"] and again["version"] == 1
    assert again["playbook_id"] != applied["playbook_id"]
    assert runner.run(ran).state == "completed"
    assert len(webhook_receiver.requests) == 1, "only the approved run ever called out"


def test_disabled_playbook_pending_execution_cannot_be_approved(
    medic: MedicProcess,
    client: TestClient,
    admin_headers: dict[str, str],
    slack: SlackDriver,
    fake_slack: FakeSlack,
    requested: Request,
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
    webhook_receiver: Receiver,
) -> None:
    """Finding 4: a pending execution of a disabled playbook was approved and ran."""
    apply_playbook(WAITING_PLAYBOOK.format(url=webhook_receiver.url))
    waiting = int(execute("drain-and-restart", service="worker-1")["results"]["execution_id"])
    assert runner.run(waiting).state == "waiting"

    for name in ("restart-worker", "drain-and-restart"):
        disabled = client.patch(
            f"/v2/playbooks/{name}", json={"enabled": False}, headers=admin_headers
        )
        assert disabled.status_code == 200, disabled.text

    for execution_id in (requested.execution_id, waiting):
        execution = _execution(medic, execution_id)
        assert execution.state == "cancelled" and "disabled" in (execution.error or "")
    cancels = _audit(medic, "execution.cancel")
    assert sorted(int(e.target_id or 0) for e in cancels) == sorted(
        [requested.execution_id, waiting]
    )

    # The approver's button, the REST API and the approval page all refuse (409).
    requested.click(slack, ACCEPT_ACTION, BOB)
    [told] = _told(fake_slack, 1)
    assert "Nothing changed" in told
    assert fake_slack.calls("chat.update") == []
    rest = client.post(f"/v2/executions/{requested.execution_id}/approve", headers=admin_headers)
    assert rest.status_code == 409
    token = button(requested.blocks, ACCEPT_ACTION)["value"].rsplit(":", 1)[1]
    page = client.post(
        f"/approvals/{token}",
        data={
            "api_key": admin_headers["Authorization"].removeprefix("Bearer "),
            "decision": "accept",
        },
    )
    assert page.status_code == 409 and "Nothing changed" in page.text

    # Enabling it again revives nothing.
    enabled = client.patch(
        "/v2/playbooks/restart-worker", json={"enabled": True}, headers=admin_headers
    )
    assert enabled.status_code == 200
    assert runner.run(requested.execution_id).state == "cancelled"
    assert runner.run(waiting).state == "cancelled"
    assert webhook_receiver.requests == []


def _pending_page(
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    medic: MedicProcess,
    url: str,
) -> tuple[int, str]:
    register("worker-1")
    apply_playbook(PLAYBOOK.format(url=url))
    execution_id = int(execute("restart-worker", service="worker-1")["results"]["execution_id"])
    token = _execution(medic, execution_id).approval_token
    assert token
    return execution_id, token


@pytest.mark.parametrize(
    "form",
    [
        {"decision": "approve"},
        {"decision": "ACCEPT"},
        {"decision": "accept "},
        {"decision": "yes"},
        {"decision": ""},
        {},
    ],
    ids=["approve", "ACCEPT", "accept-space", "yes", "empty", "missing"],
)
def test_approval_page_refuses_other_decisions(
    medic: MedicProcess,
    client: TestClient,
    make_key: Callable[..., str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    webhook_receiver: Receiver,
    form: dict[str, str],
) -> None:
    """Before: any decision other than `accept` declined the request."""
    execution_id, token = _pending_page(
        register, apply_playbook, execute, medic, webhook_receiver.url
    )
    answer = client.post(
        f"/approvals/{token}", data={"api_key": make_key("admin", name="lead"), **form}
    )
    assert answer.status_code == 400, answer.text
    assert "Nothing changed" in answer.text and "accept, decline" in answer.text
    execution = _execution(medic, execution_id)
    assert (execution.state, execution.decided_by) == ("pending_approval", None)
    assert _audit(medic, "execution.approve") == _audit(medic, "execution.decline") == []


def test_approval_page_cannot_be_framed(
    medic: MedicProcess,
    client: TestClient,
    make_key: Callable[..., str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    webhook_receiver: Receiver,
) -> None:
    _, token = _pending_page(register, apply_playbook, execute, medic, webhook_receiver.url)
    lead = make_key("admin", name="lead")
    answers = {
        "page": client.get(f"/approvals/{token}"),
        "unknown link": client.get("/approvals/not-a-token"),
        "refused": client.post(f"/approvals/{token}", data={"api_key": "mdk_no", "decision": "x"}),
        "bad key": client.post(
            f"/approvals/{token}", data={"api_key": "mdk_no", "decision": "accept"}
        ),
        "decided": client.post(
            f"/approvals/{token}", data={"api_key": lead, "decision": "decline"}
        ),
        "after": client.get(f"/approvals/{token}"),
    }
    assert [a.status_code for a in answers.values()] == [200, 404, 400, 401, 200, 200]
    for what, answer in answers.items():
        policy = answer.headers.get("content-security-policy", "")
        assert answer.headers.get("x-frame-options") == "DENY", what
        assert "frame-ancestors 'none'" in policy, what
        # No script can run in it, and nothing loads from elsewhere.
        assert "default-src 'none'" in policy and "unsafe" not in policy, what
        assert "<script" not in answer.text, what
        assert answer.headers.get("referrer-policy") == "no-referrer", what
    assert "Declined" in answers["decided"].text
