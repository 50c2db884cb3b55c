"""medic.client's Client and AsyncClient: what they send, when they try again (network
errors, 5xx, 429 with its Retry-After) and when not (other 4xx), and that a report Medic
did not store is returned and warned about, never raised, unless the caller asks."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from medic.client import AsyncClient, Client, MedicError, MonitorConfig, Retry
from medic.client.calls import seconds
from medic.client.retry import retry_after_seconds
from tests.clients.conftest import Medic
from tests.fakes.receiver import Answer, Receiver

STORED = Answer(201, b'{"success": true, "message": "heartbeat recorded", "results": {}}')
# No pause between attempts: how many are made is then exact.
EAGER = Retry(budget=30, base=0, max_attempts=3)


def test_importing_the_client_loads_none_of_the_server() -> None:
    code = "import json, sys, medic.client; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = set(json.loads(done.stdout))
    assert "medic.client" in modules and "httpx" in modules
    server = ("fastapi", "starlette", "sqlmodel", "sqlalchemy", "pydantic", "pydantic_settings")
    server += ("medic.config", "medic.db", "medic.ops", "medic.api", "medic.cli", "uvicorn")
    loaded = [m for m in modules if any(m == s or m.startswith(s + ".") for s in server)]
    assert loaded == []


def test_a_heartbeat_is_posted_by_name_with_the_key(webhook_receiver: Receiver) -> None:
    webhook_receiver.answer_sequence([STORED])

    report = Client(webhook_receiver.url, "mdk_secret").heartbeat("billing-api", "degraded")

    assert report.ok and report.status_code == 201 and report.message == "heartbeat recorded"
    [request] = webhook_receiver.requests
    assert (request.method, request.path) == ("POST", "/v2/heartbeats")
    assert request.headers["authorization"] == "Bearer mdk_secret"
    assert request.json == {"heartbeat_name": "billing-api", "status": "DEGRADED"}


def test_url_and_key_default_to_the_clis_environment(
    webhook_receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIC_URL", webhook_receiver.url + "/")
    monkeypatch.setenv("MEDIC_API_KEY", "mdk_from_env")
    webhook_receiver.answer_sequence([STORED])

    assert Client().start("etl", "run-1").ok

    [request] = webhook_receiver.requests
    assert request.headers["authorization"] == "Bearer mdk_from_env"
    assert request.json == {"heartbeat_name": "etl", "status": "STARTED", "run_id": "run-1"}


def test_a_ping_carries_no_key_and_the_message_as_its_body(webhook_receiver: Receiver) -> None:
    path = "/ping/0b5f0e1c-0c1f-4f4e-9d8a-3f0c2b1a9e77"

    client = Client("http://unused", "mdk_secret")
    report = client.ping(webhook_receiver.url + path, 2, run_id="r1", message="no space")

    assert report.ok
    [request] = webhook_receiver.requests
    assert request.path == f"{path}/2?rid=r1"
    assert "authorization" not in request.headers
    assert request.body == b"no space"


def test_a_ping_url_keeps_its_own_query(webhook_receiver: Receiver) -> None:
    url = f"{webhook_receiver.url}/ping/pk_team/nightly-etl/?create=1"

    assert Client().ping(url, "start", run_id="r2").ok

    [request] = webhook_receiver.requests
    assert request.path == "/ping/pk_team/nightly-etl/start?create=1&rid=r2"


def test_a_503_then_a_201_is_one_stored_report(webhook_receiver: Receiver) -> None:
    webhook_receiver.answer_sequence([503, STORED])

    report = Client(webhook_receiver.url, "k", retry=EAGER).complete("etl", "run-1")

    assert report.ok and report.attempts == 2
    first, second = webhook_receiver.requests
    assert first.body == second.body  # the same report again, not a new one


def test_a_429_is_retried_after_what_retry_after_asks(webhook_receiver: Receiver) -> None:
    webhook_receiver.answer_sequence([Answer(429, headers={"Retry-After": "0"}), STORED])

    assert Client(webhook_receiver.url, "k", retry=EAGER).heartbeat("api").attempts == 2


def test_a_retry_after_beyond_the_budget_ends_the_report_at_once(
    webhook_receiver: Receiver,
) -> None:
    webhook_receiver.answer(503, headers={"Retry-After": "3600"})

    report = Client(webhook_receiver.url, "k", retry=EAGER).heartbeat("api")

    assert not report.ok and report.status_code == 503 and report.attempts == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_a_refusal_is_not_retried_and_not_raised(
    webhook_receiver: Receiver, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    webhook_receiver.answer(status, {"success": False, "message": "no service 'etl'"})

    with caplog.at_level(logging.WARNING, logger="medic.client"):
        report = Client(webhook_receiver.url, "k", retry=EAGER).fail("etl", "run-1")

    assert (report.ok, report.status_code, report.attempts) == (False, status, 1)
    assert len(webhook_receiver.requests) == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"Medic did not record the failure of 'etl': {status}: no service 'etl'"
    ]


def test_an_unreachable_medic_is_tried_within_the_budget_then_reported(
    unreachable: str,
) -> None:
    report = Client(unreachable, "k", retry=EAGER).heartbeat("api")

    assert (report.ok, report.status_code, report.attempts) == (False, None, 3)
    assert report.message.startswith(f"cannot reach Medic at {unreachable}")


def test_raise_errors_raises_what_would_have_been_a_warning(unreachable: str) -> None:
    client = Client(unreachable, "k", retry=Retry(budget=0), raise_errors=True)

    with pytest.raises(MedicError, match="cannot reach Medic") as raised:
        client.heartbeat("api")
    assert raised.value.report.status_code is None


def test_a_bad_status_is_a_programming_error_raised_at_once() -> None:
    with pytest.raises(ValueError, match="status must be one of UP, DOWN"):
        Client("http://unused").heartbeat("api", "HAPPY")


@pytest.mark.anyio
async def test_the_async_client_retries_the_same_way(webhook_receiver: Receiver) -> None:
    webhook_receiver.answer_sequence([503, 502, STORED])

    async with AsyncClient(webhook_receiver.url, "k", retry=EAGER) as client:
        report = await client.start("etl", monitor=MonitorConfig.of(schedule="1h"))

    assert report.ok and report.attempts == 3
    assert report.run_id and webhook_receiver.requests[-1].json == {
        "heartbeat_name": "etl",
        "status": "STARTED",
        "run_id": report.run_id,
        "monitor": {"schedule": "1h"},
    }


def test_the_client_reports_to_the_real_api(served: Medic, ingest_key: str) -> None:
    service = served.register("nightly-etl")

    with Client(served.url, ingest_key) as client:
        started = client.start("NIGHTLY-ETL")
        ended = client.complete("nightly-etl", started.run_id, message="42 rows")

    assert started.ok and ended.ok and ended.results["run"]["known"] is True
    [run] = served.runs(service)
    assert run["outcome"] == "completed" and run["run_id"] == started.run_id


@pytest.mark.parametrize(
    ("header", "expected"),
    [("0", 0.0), ("120", 120.0), (None, None), ("soon", None), ("-1", None)],
)
def test_retry_after_in_seconds(header: str | None, expected: float | None) -> None:
    assert retry_after_seconds(header) == expected


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("Tue, 01 Jan 2030 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Tue, 01 Jan 2030 11:00:00 GMT", now) == 0.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (90, 90),
        (1.2, 2),
        ("45s", 45),
        ("30m", 1800),
        ("1h30m", 5400),
        ("2d", 172800),
        (timedelta(minutes=5), 300),
        (" 10 ", 10),
    ],
)
def test_durations(value: object, expected: int) -> None:
    assert seconds(value, "grace") == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["", "soon", "5 fortnights", "-5", -1, True, "1h soon"])
def test_what_is_not_a_duration(value: object) -> None:
    with pytest.raises(ValueError, match="grace"):
        seconds(value, "grace")  # type: ignore[arg-type]


def test_a_monitor_config_sends_only_what_was_given() -> None:
    assert MonitorConfig.of() is None
    assert MonitorConfig.of(grace=0).to_json() == {"grace_seconds": 0}  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="max_runtime: must be more than 0"):
        MonitorConfig.of(max_runtime="0s")
