"""`monitor`, as a decorator and a context manager, sync and async, against the real API
on a socket: a run starts, then completes with its duration or fails with the
exception's type and message, which still reaches the caller; a Medic that is down
never stops the job."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from medic.client import AsyncClient, Client, Retry, monitor
from tests.clients.conftest import Medic, server_provisions
from tests.fakes.receiver import Receiver


@pytest.fixture
def env(served: Medic, ingest_key: str, monkeypatch: pytest.MonkeyPatch) -> Medic:
    """The job's environment points at the served Medic, as the decorator's default
    client reads it."""
    monkeypatch.setenv("MEDIC_URL", served.url)
    monkeypatch.setenv("MEDIC_API_KEY", ingest_key)
    return served


def test_the_decorator_reports_a_completed_run_with_its_duration(env: Medic) -> None:
    service = env.register("nightly-etl")

    @monitor("nightly-etl")
    def nightly_etl(rows: int) -> int:
        return rows * 2

    assert nightly_etl(21) == 42
    assert nightly_etl.__name__ == "nightly_etl"

    start, end = env.beats("nightly-etl")
    assert (start["status"], end["status"]) == ("STARTED", "COMPLETED")
    assert start["run_id"] == end["run_id"]
    assert end["message"].startswith("completed in ")
    [run] = env.runs(service)
    assert run["outcome"] == "completed" and run["duration_ms"] is not None


def test_the_decorator_reports_the_exception_and_lets_it_through(env: Medic) -> None:
    service = env.register("nightly-etl")

    @monitor("nightly-etl")
    def nightly_etl() -> None:
        raise ValueError("column 'amount' is missing")

    with pytest.raises(ValueError, match="amount"):
        nightly_etl()

    _, end = env.beats("nightly-etl")
    assert end["status"] == "FAILED"
    assert end["message"].startswith("ValueError: column 'amount' is missing (after ")
    assert env.runs(service)[0]["outcome"] == "failed"


def test_each_call_of_a_decorated_function_is_a_run_of_its_own(env: Medic) -> None:
    service = env.register("sync-users")
    sync_users = monitor("sync-users")(lambda: None)

    sync_users()
    sync_users()

    runs = env.runs(service)
    assert [r["outcome"] for r in runs] == ["completed", "completed"]
    assert runs[0]["run_id"] != runs[1]["run_id"]


def test_the_context_manager_adds_the_runs_own_message(env: Medic) -> None:
    env.register("report")

    with monitor("report") as run:
        run.message = "sent 12 reports"

    start, end = env.beats("report")
    assert start["run_id"] == end["run_id"] == run.run_id
    assert end["message"].endswith("\nsent 12 reports")


def test_the_context_manager_reports_a_failure(served: Medic, ingest_key: str) -> None:
    served.register("report")
    client = Client(served.url, ingest_key)

    with pytest.raises(KeyError), monitor("report", client=client):
        {}["recipient"]

    _, end = served.beats("report")
    assert end["status"] == "FAILED" and end["message"].startswith("KeyError: 'recipient'")


def test_a_ping_url_monitor_needs_no_key(served: Medic) -> None:
    service = served.register("backup")

    with monitor(ping_url=served.ping_url(service)):
        pass

    start, end = served.beats("backup")
    assert (start["status"], end["status"]) == ("STARTED", "COMPLETED")
    assert start["run_id"] == end["run_id"] is not None


@pytest.mark.anyio
async def test_async_functions_and_async_with(served: Medic, ingest_key: str) -> None:
    service = served.register("async-job")
    client = AsyncClient(served.url, ingest_key)

    @monitor("async-job", client=client)
    async def crawl() -> str:
        return "crawled"

    assert await crawl() == "crawled"
    with pytest.raises(RuntimeError):
        async with monitor("async-job", client=client):
            raise RuntimeError("site down")
    await client.aclose()

    outcomes = sorted(run["outcome"] for run in served.runs(service))
    assert outcomes == ["completed", "failed"]
    assert served.beats("async-job")[-1]["message"].startswith("RuntimeError: site down")


def test_medic_down_never_stops_the_job(unreachable: str, caplog: pytest.LogCaptureFixture) -> None:
    client = Client(unreachable, "k", retry=Retry(budget=0))

    with caplog.at_level(logging.WARNING, logger="medic.client"):

        @monitor("nightly-etl", client=client)
        def nightly_etl() -> str:
            return "done"

        assert nightly_etl() == "done"

    assert len(caplog.records) == 2  # the start and the completion


def test_the_monitor_config_goes_with_the_start(webhook_receiver: Receiver) -> None:
    webhook_receiver.answer(201)
    client = Client(webhook_receiver.url, "mdk_write")
    watched = monitor(
        "nightly-etl",
        schedule="0 2 * * *",
        timezone="Europe/Paris",
        max_runtime="2h",
        grace=300,
        client=client,
    )

    with watched:
        pass

    start, end = (request.json for request in webhook_receiver.requests)
    assert start["monitor"] == {
        "schedule": "0 2 * * *",
        "timezone": "Europe/Paris",
        "max_runtime_seconds": 7200,
        "grace_seconds": 300,
    }
    assert "monitor" not in end and end["status"] == "COMPLETED"


@pytest.mark.skipif(not server_provisions(), reason="the server takes no monitor config yet")
def test_the_decorator_creates_its_monitor_with_a_write_key(
    served: Medic, make_key: Callable[..., str]
) -> None:
    client = Client(served.url, make_key("write"))

    @monitor("hourly-sync", schedule="0 * * * *", timezone="UTC", client=client)
    def hourly_sync() -> None:
        pass

    hourly_sync()

    service = served.service("hourly-sync")
    assert service is not None
    assert (service["schedule_type"], service["cron_expression"]) == ("cron", "0 * * * *")
    assert served.runs(service)[0]["outcome"] == "completed"


@pytest.mark.parametrize(("code", "status"), [(0, "COMPLETED"), (None, "COMPLETED"), (2, "FAILED")])
def test_sys_exit_is_a_success_only_with_a_success_code(
    webhook_receiver: Receiver, code: Any, status: str
) -> None:
    webhook_receiver.answer(201)

    with pytest.raises(SystemExit), monitor("cli-job", client=Client(webhook_receiver.url)):
        raise SystemExit(code)

    assert webhook_receiver.requests[-1].json["status"] == status


def test_a_misconfigured_monitor_is_refused_where_it_is_written() -> None:
    with pytest.raises(ValueError, match="exactly one of a job name and a ping URL"):
        monitor()
    with pytest.raises(ValueError, match="a ping URL cannot configure its monitor"):
        monitor(ping_url="https://medic.example.com/ping/x", schedule="1h")
    with pytest.raises(TypeError, match="async with"), monitor("x", client=AsyncClient()):
        pass
