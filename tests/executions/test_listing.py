"""Finding executions: `GET /v2/executions` (filters, pages, newest first) and
`medic playbook executions`; one execution shows each step's output, secrets masked,
to a read key too; hostile filters and pages are a 400 naming the field, never a 500."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.cli import Run
from tests.fakes.receiver import Receiver
from tests.playbook_runs import Runner
from tests.support import Clock

TOKEN = "tok-7d1c0ffee-secret"
PLAYBOOK = """
name: {name}
approval: {approval}
steps:
  - name: call
    type: webhook
    url: "{url}/call"
    headers:
      Authorization: "Bearer ${{secrets.CALL_TOKEN}}"
"""


@pytest.fixture
def playbooks(
    client: TestClient,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    webhook_receiver: Receiver,
) -> None:
    """worker-1 and worker-2; `restart` runs at once, `drain` waits for approval; the
    receiver answers with the token it was sent, as a careless echo service would."""
    register("worker-1")
    register("worker-2")
    put = client.put("/v2/secrets/CALL_TOKEN", json={"value": TOKEN}, headers=admin_headers)
    assert put.status_code == 201
    apply_playbook(PLAYBOOK.format(name="restart", approval="none", url=webhook_receiver.url))
    apply_playbook(PLAYBOOK.format(name="drain", approval="required", url=webhook_receiver.url))
    webhook_receiver.answer(200, body=f"restarted; you sent Bearer {TOKEN}\nbye\n")


def listed(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/v2/executions", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["results"]  # type: ignore[no-any-return]


def ids(page: dict[str, Any]) -> list[int]:
    return [item["execution_id"] for item in page["items"]]


@pytest.mark.usefixtures("playbooks")
def test_executions_are_listed_newest_first_and_filtered(
    client: TestClient,
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
    read_headers: dict[str, str],
    admin_headers: dict[str, str],
    make_key: Callable[..., str],
    clock: Clock,
) -> None:
    first = execute("restart", service="worker-1")["results"]["execution_id"]
    runner.run(first)
    clock.advance(hours=2)
    second = execute("drain", service="worker-2", reason="disk full")["results"]["execution_id"]
    other = {"Authorization": f"Bearer {make_key('write', name='night-shift')}"}
    response = client.post("/v2/playbooks/restart/execute", json={}, headers=other)
    third = response.json()["results"]["execution_id"]

    everything = listed(client, read_headers)
    assert ids(everything) == [third, second, first] and everything["total"] == 3
    item = everything["items"][1]
    assert (item["playbook"], item["state"], item["reason"]) == (
        "drain",
        "pending_approval",
        "disk full",
    )
    assert "steps" not in item, "a list is a summary; one execution shows its steps"

    assert ids(listed(client, read_headers, playbook="restart")) == [third, first]
    assert ids(listed(client, read_headers, service="WORKER-2")) == [second]
    assert ids(listed(client, read_headers, service=str(everything["items"][2]["service_id"]))) == [
        first
    ]
    assert ids(listed(client, read_headers, state="completed")) == [first]
    assert ids(listed(client, read_headers, requester="night-shift")) == [third]
    since = everything["items"][1]["created_at"]
    assert ids(listed(client, read_headers, since=since)) == [third, second]
    assert ids(listed(client, read_headers, until=since)) == [first]
    assert ids(listed(client, read_headers, playbook="nope", service="nobody")) == []
    assert ids(listed(client, read_headers, requester="slack:U0NOBODY")) == []

    page = listed(client, read_headers, limit=1, offset=1)
    assert ids(page) == [second] and (page["total"], page["limit"], page["offset"]) == (3, 1, 1)


@pytest.mark.usefixtures("playbooks")
def test_one_execution_shows_each_steps_output_with_secrets_masked_to_a_read_key(
    client: TestClient,
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
    read_headers: dict[str, str],
) -> None:
    execution_id = execute("restart", service="worker-1")["results"]["execution_id"]
    assert runner.run(execution_id).state == "completed"

    response = client.get(f"/v2/executions/{execution_id}", headers=read_headers)
    assert response.status_code == 200
    [step] = response.json()["results"]["steps"]
    assert step["output"].startswith("restarted; you sent Bearer ")
    assert step["output"].endswith("\nbye\n") and step["output_truncated"] is False
    listing = client.get("/v2/executions", headers=read_headers)
    for answer in (response, listing):
        assert TOKEN not in answer.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 2**70}, "offset"),
        ({"state": "exploded"}, "state"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-01-01T00:00:00"}, "until"),  # no offset: which zone?
        ({"playbook": "x" * 256}, "playbook"),
        ({"service": "a\x00b"}, "service"),
        ({"requester": "key\x00"}, "requester"),
        ({"playbook": ""}, "playbook"),
    ],
)
def test_hostile_filters_and_pages_are_a_400_naming_the_field(
    client: TestClient, read_headers: dict[str, str], params: dict[str, Any], field: str
) -> None:
    response = client.get("/v2/executions", params=params, headers=read_headers)
    assert response.status_code == 400, response.text
    assert field in response.json()["message"]


def test_far_periods_and_large_ids_match_nothing_rather_than_fail(
    client: TestClient, read_headers: dict[str, str]
) -> None:
    for params in (
        {"since": "9999-12-31T23:59:59+00:00"},
        {"until": "0001-01-01T00:00:00+00:00"},
        {"service": str(2**80)},
        {"requester": "slack:%_\\"},
    ):
        assert listed(client, read_headers, **params)["total"] == 0


def test_an_ingest_key_cannot_list_executions(
    client: TestClient, make_key: Callable[..., str]
) -> None:
    headers = {"Authorization": f"Bearer {make_key('ingest')}"}
    assert client.get("/v2/executions", headers=headers).status_code == 403
    assert client.get("/v2/executions").status_code == 401


@pytest.mark.usefixtures("playbooks")
def test_an_operator_lists_executions_and_reads_step_output_from_the_cli(
    medic_cli: Run,
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
) -> None:
    done = execute("restart", service="worker-1")["results"]["execution_id"]
    runner.run(done)
    waiting = execute("drain", service="worker-2")["results"]["execution_id"]

    lines = medic_cli("playbook", "executions").output.splitlines()
    assert lines[0].split() == [
        "EXECUTION_ID", "PLAYBOOK", "VERSION", "SERVICE_ID", "STATE", "REQUESTED_BY", "CREATED_AT"
    ]  # fmt: skip
    assert [line.split()[:2] for line in lines[1:]] == [
        [str(waiting), "drain"],
        [str(done), "restart"],
    ]

    one = medic_cli("playbook", "executions", "--state", "completed", "--since", "1h", "--json")
    assert [item["execution_id"] for item in json.loads(one.output)["items"]] == [done]
    paged = medic_cli("playbook", "executions", "--limit", "1").output
    assert "(1 of 2; next page: --offset 1)" in paged

    shown = medic_cli("playbook", "execution", str(done)).output
    assert "1. call: succeeded POST" in shown and "     | bye" in shown
    assert TOKEN not in shown
    refused = medic_cli("playbook", "executions", "--since", "last tuesday", code=1).output
    assert "400" in refused and "since" in refused
