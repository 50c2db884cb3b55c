"""The team hears of what a playbook did without anyone asking: an execution that
failed is told in its channel, one that escalated also pages (an incident of its own),
and a start the circuit breaker refused says so in the channel, not only in the audit
log."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.dashboard.conftest import Browser
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.receiver import Receiver
from tests.fakes.slack import FakeSlack
from tests.playbook_runs import Runner
from tests.postman import Postman
from tests.support import Clock, RecordingScheduler

TEAM_CHANNEL = "C0PLATFORM"

RESTART = """
name: restart-worker
approval: none
steps:
  - name: restart-service
    type: webhook
    url: "{url}/restart"
  - name: verify-heartbeat
    type: condition
    check: heartbeat_received
    timeout: 60s
    on_failure: {on_failure}
"""


@pytest.fixture
def extra_settings(fake_pagerduty: FakePagerDuty) -> dict[str, Any]:
    return {
        "medic_allowed_webhook_hosts": "127.0.0.1",
        "pagerduty_routing_key": "R" * 32,
        "pagerduty_base_url": fake_pagerduty.base_url,
        "medic_extra_ca_bundle": fake_pagerduty.ca_path,
    }


@pytest.fixture
def worker(
    client: TestClient,
    admin_headers: dict[str, str],
    register: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    team = {"name": "platform", "slack_channel_id": TEAM_CHANNEL}
    assert client.post("/v2/teams", json=team, headers=admin_headers).status_code == 201
    return register(
        "worker-1", service_name="worker-1", team="platform", runbook="https://wiki.example/worker"
    )


@pytest.fixture
def posted(
    scheduler: RecordingScheduler,
    postman: Postman,
    fake_slack: FakeSlack,
) -> Callable[[], list[dict[str, Any]]]:
    """Relay the outbox, deliver, and return what was posted to the team's channel."""

    def go() -> list[dict[str, Any]]:
        scheduler.run_pass()
        postman.deliver()
        calls = fake_slack.calls("chat.postMessage")
        return [c.body for c in calls if c.body["channel"] == TEAM_CHANNEL]

    return go


def _text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(str(b.get("text", {}).get("text", "")) for b in blocks)


def run_until_the_condition_gives_up(
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
    clock: Clock,
) -> int:
    execution_id = int(execute("restart-worker", service="worker-1")["results"]["execution_id"])
    runner.run(execution_id)
    clock.advance(seconds=61)
    assert runner.run(execution_id).state == "failed"
    return execution_id


def test_an_escalated_failure_is_told_in_the_channel_and_pages_on_its_own_incident(
    worker: dict[str, Any],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
    clock: Clock,
    webhook_receiver: Receiver,
    posted: Callable[[], list[dict[str, Any]]],
    fake_pagerduty: FakePagerDuty,
) -> None:
    apply_playbook(RESTART.format(url=webhook_receiver.url, on_failure="escalate"))
    execution_id = run_until_the_condition_gives_up(execute, runner, clock)

    [message] = posted()
    assert message["text"] == "Playbook 'restart-worker' on worker-1 failed and needs a human"
    shown = _text(message["blocks"])
    assert "no heartbeat within 60s" in shown and "/v2/" not in shown
    # No approval asked, and still a page to open: the dashboard's (medic.core.links).
    page = f"http://medic.test/dashboard/executions/{execution_id}"
    assert f"*Execution:* <{page}|#{execution_id}>, v1" in shown
    assert "escalated to the on-call" in shown and "https://wiki.example/worker" in shown
    assert fake_pagerduty.actions() == [("trigger", f"medic-execution-{execution_id}")]
    details = fake_pagerduty.events[0]["payload"]["custom_details"]
    assert details["playbook"] == "restart-worker" and "escalated" in details["execution_error"]


def test_a_failed_execution_is_told_in_the_channel_without_paging(
    worker: dict[str, Any],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
    clock: Clock,
    webhook_receiver: Receiver,
    posted: Callable[[], list[dict[str, Any]]],
    fake_pagerduty: FakePagerDuty,
) -> None:
    apply_playbook(RESTART.format(url=webhook_receiver.url, on_failure="fail"))
    run_until_the_condition_gives_up(execute, runner, clock)

    [message] = posted()
    assert message["text"] == "Playbook 'restart-worker' on worker-1 failed"
    assert "escalated" not in _text(message["blocks"])
    assert fake_pagerduty.actions() == []


def test_the_circuit_breaker_says_in_the_channel_that_it_refused_a_loop(
    worker: dict[str, Any],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    webhook_receiver: Receiver,
    posted: Callable[[], list[dict[str, Any]]],
    fake_pagerduty: FakePagerDuty,
) -> None:
    apply_playbook(RESTART.format(url=webhook_receiver.url, on_failure="fail"))
    for _ in range(3):
        execute("restart-worker", service="worker-1")
    execute("restart-worker", expect=409, service="worker-1")

    [message] = posted()
    assert message["text"] == "Playbook 'restart-worker' on worker-1 refused: runaway loop"
    shown = _text(message["blocks"])
    assert "already ran 3 times in the last hour" in shown
    assert "MEDIC_PLAYBOOK_MAX_EXECUTIONS_PER_HOUR" in shown and "test-writer" in shown
    assert fake_pagerduty.actions() == []


def test_a_failure_notice_links_to_a_page_a_person_can_open_never_an_api_route(
    worker: dict[str, Any],
    client: TestClient,
    make_key: Callable[..., str],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
    clock: Clock,
    webhook_receiver: Receiver,
    posted: Callable[[], list[dict[str, Any]]],
    fake_pagerduty: FakePagerDuty,
) -> None:
    asking = RESTART.format(url=webhook_receiver.url, on_failure="escalate")
    apply_playbook(asking.replace("approval: none", "approval: required"))
    execution_id = int(execute("restart-worker", service="worker-1")["results"]["execution_id"])
    approver = {"Authorization": f"Bearer {make_key('admin', name='lead')}"}
    approved = client.post(f"/v2/executions/{execution_id}/approve", headers=approver)
    assert approved.status_code == 200, approved.text
    runner.run(execution_id)
    clock.advance(seconds=61)
    assert runner.run(execution_id).state == "failed"

    [notice] = [m for m in posted() if m["text"].startswith("Playbook 'restart-worker'")]
    [link] = re.findall(r"<(http[^|>]+)\|#" + str(execution_id) + ">", _text(notice["blocks"]))
    assert link == f"http://medic.test/dashboard/executions/{execution_id}"
    browser = Browser(client)  # a person's browser: no key until they sign in
    assert browser.get(link.removeprefix("http://medic.test")).status_code == 303
    assert browser.sign_in(make_key("read"), link.removeprefix("http://medic.test")).headers[
        "location"
    ] == link.removeprefix("http://medic.test")
    page = browser.get(link.removeprefix("http://medic.test"))
    assert page.status_code == 200 and "no heartbeat within 60s" in page.text
    assert "<code>verify-heartbeat</code>" in page.text and "state-failed" in page.text
    [event] = fake_pagerduty.events
    assert {"href": link, "text": f"Execution #{execution_id}"} in event["links"]
    assert "/v2/executions" not in str(notice) + str(event)
