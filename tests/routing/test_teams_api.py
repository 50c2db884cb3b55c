"""v2 teams (SRE-11): a team has a Slack channel id and approvers (Slack user ids);
services name their team as free text, so a team row is optional, and a team that
services still name cannot be deleted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import AuditEntry, Team
from medic.ops import teams
from medic.ops.actor import Actor
from medic.ops.errors import Forbidden
from medic.process import MedicProcess
from tests.routing.helpers import Api

PAYMENTS = {"name": "payments", "slack_channel_id": "C0123ABCD", "approvers": ["U0123ABCD"]}


def test_a_team_is_created_then_listed_and_fetched_by_name(api: Api) -> None:
    created = api.create("teams", PAYMENTS)
    assert created["name"] == "payments"
    assert created["slack_channel_id"] == "C0123ABCD"
    assert created["approvers"] == ["U0123ABCD"]

    assert api.get("teams/payments") == created
    listing = api.get("teams")
    assert listing["total"] == 1
    assert listing["items"] == [created]


def test_a_team_needs_only_a_name(api: Api) -> None:
    created = api.create("teams", {"name": "data"})
    assert created["slack_channel_id"] is None
    assert created["approvers"] == []


def test_a_taken_name_is_409_in_any_case(api: Api) -> None:
    api.create("teams", PAYMENTS)
    assert "already exists" in api.create("teams", {"name": "payments"}, expect=409)
    assert "already exists" in api.create("teams", {"name": "PAYMENTS"}, expect=409)


@pytest.mark.parametrize("channel", ["#payments", "payments", "C12", "c0123abcd", "X0123ABCD"])
def test_the_channel_must_be_a_slack_channel_id(api: Api, channel: str) -> None:
    message = api.create("teams", {"name": "payments", "slack_channel_id": channel}, expect=400)
    assert "slack_channel_id" in message and "not a Slack channel id" in message


@pytest.mark.parametrize("user", ["@alice", "alice", "U12", "C0123ABCD"])
def test_approvers_must_be_slack_user_ids(api: Api, user: str) -> None:
    message = api.create("teams", {"name": "payments", "approvers": [user]}, expect=400)
    assert "approvers" in message and "not a Slack user id" in message


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": ""}, "name"),
        ({"name": "a/b"}, "'/'"),
        ({"name": "x" * 256}, "name"),
        ({"name": "ops", "colour": "red"}, "unknown field 'colour'"),
        ({}, "name is required"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api: Api, body: dict[str, Any], fragment: str) -> None:
    assert fragment in api.create("teams", body, expect=400)


def test_update_changes_the_channel_and_approvers(api: Api) -> None:
    api.create("teams", PAYMENTS)
    updated = api.patch("teams/payments", {"approvers": ["W0123ABCD", "U7654321"]})
    assert updated["approvers"] == ["W0123ABCD", "U7654321"]
    assert updated["slack_channel_id"] == "C0123ABCD"

    cleared = api.patch("teams/payments", {"slack_channel_id": None})
    assert cleared["slack_channel_id"] is None
    assert api.get("teams/payments")["approvers"] == ["W0123ABCD", "U7654321"]


def test_an_empty_or_null_update_is_refused(api: Api) -> None:
    api.create("teams", PAYMENTS)
    assert "no fields" in api.patch("teams/payments", {}, expect=400)
    assert "approvers must not be null" in api.patch(
        "teams/payments", {"approvers": None}, expect=400
    )


def test_an_unknown_team_is_404(api: Api) -> None:
    assert "no team named 'ghost'" in api.get("teams/ghost", expect=404)
    api.patch("teams/ghost", {"approvers": []}, expect=404)
    api.delete("teams/ghost", expect=404)


def test_a_service_may_name_a_team_that_has_no_row(
    register: Callable[..., dict[str, Any]], api: Api
) -> None:
    service = register("etl", team="no-such-team")
    assert service["team"] == "no-such-team"
    assert api.get("teams")["total"] == 0


def test_a_team_services_name_cannot_be_deleted(
    register: Callable[..., dict[str, Any]], api: Api
) -> None:
    api.create("teams", PAYMENTS)
    first = register("charge", team="payments")
    register("refund", team="payments")

    message = api.delete("teams/payments", expect=409)
    assert "used by 2 services" in message

    api.patch(f"services/{first['service_id']}", {"team": "billing"})
    assert "used by 1 service;" in api.delete("teams/payments", expect=409)


def test_a_team_nobody_names_is_deleted(api: Api) -> None:
    api.create("teams", PAYMENTS)
    assert api.delete("teams/payments") == {"name": "payments"}
    api.get("teams/payments", expect=404)


def test_reading_needs_read_and_changing_needs_admin(
    client: TestClient,
    read_headers: dict[str, str],
    write_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    """Teams name approvers and channels: configuring them is trust, not operating."""
    assert client.get("/v2/teams").status_code == 401
    assert client.get("/v2/teams", headers=read_headers).status_code == 200
    assert client.post("/v2/teams", json=PAYMENTS, headers=read_headers).status_code == 403
    assert client.post("/v2/teams", json=PAYMENTS, headers=write_headers).status_code == 403
    assert client.post("/v2/teams", json=PAYMENTS, headers=admin_headers).status_code == 201
    assert client.delete("/v2/teams/payments", headers=write_headers).status_code == 403
    assert client.delete("/v2/teams/payments", headers=admin_headers).status_code == 200


def test_every_change_is_audited(api: Api) -> None:
    api.create("teams", PAYMENTS)
    api.patch("teams/payments", {"approvers": []})
    api.delete("teams/payments")

    [created] = api.audit("team.create")
    assert created["details"]["slack_channel_id"] == "C0123ABCD"
    [updated] = api.audit("team.update")
    assert updated["details"]["before"] == {"approvers": ["U0123ABCD"]}
    assert updated["details"]["after"] == {"approvers": []}
    [deleted] = api.audit("team.delete")
    assert deleted["target_type"] == "team"
    assert deleted["details"]["name"] == "payments"


def test_a_refused_change_is_audited_with_the_team_it_named(medic: MedicProcess) -> None:
    """The operation checks the scope whichever door calls it, and records the refusal."""
    reader = Actor("slack:U0READER", "slack", frozenset({"read"}))
    command = teams.CreateTeam.of(**PAYMENTS)

    with pytest.raises(Forbidden):
        teams.create_team(medic.context(reader), command)

    with medic.db.session() as session:
        assert session.exec(select(Team)).first() is None
        [entry] = session.exec(select(AuditEntry)).all()
    assert (entry.action, entry.outcome, entry.actor, entry.front_door) == (
        "team.create",
        "refused",
        "slack:U0READER",
        "slack",
    )
    assert (entry.target_type, entry.target_id) == ("team", "payments")
