"""The approval page behind the link in Slack and PagerDuty: the context for anyone
with the link; a decision only with an approver's key, never the requester's."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import Execution
from medic.process import MedicProcess


def _token(medic: MedicProcess, execution_id: int) -> str:
    with medic.db.session() as session:
        execution = session.exec(
            select(Execution).where(Execution.execution_id == execution_id)
        ).one()
    assert execution.approval_token
    return execution.approval_token


def test_the_page_shows_the_request_and_an_approver_decides_there(
    client: TestClient,
    medic: MedicProcess,
    make_key: Callable[..., str],
    pending: int,
) -> None:
    token = _token(medic, pending)
    page = client.get(f"/approvals/{token}")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "restart-worker" in page.text and 'name="api_key"' in page.text

    accepted = client.post(
        f"/approvals/{token}",
        data={"api_key": make_key("admin", name="on-call-lead"), "decision": "accept"},
    )
    assert accepted.status_code == 200 and "Accepted" in accepted.text
    assert "on-call-lead" in accepted.text and 'name="api_key"' not in accepted.text
    with medic.db.session() as session:
        assert session.get(Execution, pending).state == "running"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("key_of", "status", "says"),
    [("requester", 403, "requester"), ("writer", 403, "approvers"), ("nobody", 401, "")],
)
def test_a_decision_without_the_right_key_changes_nothing(
    client: TestClient,
    medic: MedicProcess,
    make_key: Callable[..., str],
    write_headers: dict[str, str],
    pending: int,
    key_of: str,
    status: int,
    says: str,
) -> None:
    key = {
        "requester": write_headers["Authorization"].removeprefix("Bearer "),
        "writer": make_key("write", name="someone"),
        "nobody": "mdk_not_a_key",
    }[key_of]
    token = _token(medic, pending)
    refused = client.post(f"/approvals/{token}", data={"api_key": key, "decision": "accept"})
    assert refused.status_code == status and "Nothing changed" in refused.text
    assert says in refused.text
    with medic.db.session() as session:
        assert session.get(Execution, pending).state == "pending_approval"  # type: ignore[union-attr]


def test_an_unknown_link_is_a_404(client: TestClient) -> None:
    assert client.get("/approvals/not-a-token").status_code == 404
