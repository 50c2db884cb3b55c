"""Attacks on the agent's door and scope: an agent key sits on a managed host, so it
gets its own host's jobs and nothing else; and no other key, however strong, polls as
an agent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.agent.conftest import FakeAgent
from tests.agent.test_protocol import start
from tests.conftest import auth
from tests.playbook_runs import Runner


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v2/heartbeats", {"heartbeat_name": "worker-1", "status": "UP"}),
        ("POST", "/heartbeat", {"heartbeat_name": "worker-1", "status": "UP"}),
        ("GET", "/v2/services", None),
        ("GET", "/v2/agents", None),
        ("GET", "/v2/executions", None),
        ("POST", "/v2/agents", {"host": "web-2"}),
        ("POST", "/v2/playbooks/restart-on-host/execute", {"service": "worker-1"}),
        ("GET", "/v2/keys", None),
    ],
)
def test_an_agent_key_does_nothing_but_its_own_jobs(
    client: TestClient,
    register: Callable[..., dict[str, Any]],
    enroll: Callable[..., FakeAgent],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    register("worker-1")
    agent = enroll("web-1")
    response = client.request(method, path, json=body, headers=agent.headers)
    assert response.status_code in (401, 403), (path, response.text)


@pytest.mark.parametrize("scope", ["ingest", "read", "write", "admin"])
def test_no_other_key_polls_or_reports_as_an_agent(
    client: TestClient, make_key: Callable[..., str], scope: str
) -> None:
    headers = auth(make_key(scope))
    assert client.get("/v2/agent/jobs?wait=0", headers=headers).status_code == 403
    report = client.post("/v2/agent/jobs/1/result", json={"status": "ok"}, headers=headers)
    assert report.status_code == 403


def test_an_agent_cannot_take_or_report_another_hosts_job(
    register: Callable[..., dict[str, Any]],
    enroll: Callable[..., FakeAgent],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
) -> None:
    register("worker-1")
    web = enroll("web-1")
    intruder = enroll("db-1")
    execution_id = start(apply_playbook, execute, runner)
    assert intruder.poll() is None
    job = web.poll()
    assert job is not None
    intruder.report(job["job_id"], expect=404, status="ok", exit_code=0, output="faked")
    intruder.report(job["job_id"], expect=404, status="skipped", reason="not_registered")
    assert runner.run(execution_id).state == "waiting"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"name": "a", "scopes": ["agent"]}, "needs a host"),
        ({"name": "a", "scopes": ["agent", "read"], "host": "web-1"}, "held alone"),
        ({"name": "a", "scopes": ["admin"], "host": "web-1"}, "only an agent key"),
        ({"name": "a", "scopes": ["agent"], "host": "../etc"}, "host name"),
    ],
)
def test_an_agent_key_is_bound_to_one_host_and_holds_nothing_else(
    client: TestClient, admin_headers: dict[str, str], body: dict[str, Any], says: str
) -> None:
    response = client.post("/v2/keys", json=body, headers=admin_headers)
    assert response.status_code == 400 and says in response.json()["message"], response.text


def test_a_report_is_checked_before_anything_is_recorded(
    client: TestClient,
    register: Callable[..., dict[str, Any]],
    enroll: Callable[..., FakeAgent],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
) -> None:
    register("worker-1")
    agent = enroll("web-1")
    start(apply_playbook, execute, runner)
    job = agent.poll()
    assert job is not None
    url = f"/v2/agent/jobs/{job['job_id']}/result"
    for bad in (
        {"status": "pwned"},
        {"status": "ok", "extra": 1},
        {"status": "ok", "exit_code": 2**40},
        {"status": "ok", "counters": {"x": "y" * 70_000}},
    ):
        response = client.post(url, json=bad, headers=agent.headers)
        assert response.status_code == 400, (bad, response.text)
    assert (
        client.post(
            "/v2/agent/jobs/99999999999/result", json={"status": "ok"}, headers=agent.headers
        ).status_code
        == 404
    )
    agent.report(job["job_id"], status="ok", exit_code=0)


def test_an_agent_key_cannot_use_mcp(client: TestClient, enroll: Callable[..., FakeAgent]) -> None:
    agent = enroll("web-1")
    response = client.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={**agent.headers, "Accept": "application/json, text/event-stream"},
    )
    assert response.status_code in (401, 403)
