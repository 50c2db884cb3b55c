"""Job runs (SRE-15/16) end to end, through the front doors a job uses.

A job reports STARTED, then COMPLETED or FAILED: by the v2 heartbeat API (with or
without a `run_id`), by the original v2 run routes, or by its ping URL (`?rid=`).
Medic keeps the newest 100 runs of each service, serves their duration statistics,
alerts at once on a failure, once when a run outlives `max_duration_seconds`, and at
the schedule's deadline when a run never ends; every down and up is in the history.

The clock stands still here unless a test moves it, so every duration is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import Alert, Notification
from medic.process import MedicProcess
from tests.support import Clock, RecordingScheduler

Headers = dict[str, str]
Register = Callable[..., dict[str, Any]]


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Wall-clock time frozen (monotonic time untouched): durations are what the test says."""
    with time_machine.travel(datetime.now(UTC).replace(microsecond=0), tick=False) as traveller:
        yield Clock(traveller)


class Job:
    """One service's job, reporting its runs through one front door."""

    def __init__(self, client: TestClient, headers: Headers, service: dict[str, Any]) -> None:
        self.client, self.headers, self.service = client, headers, service
        self.sid, self.uuid = service["service_id"], service["uuid"]

    def beat(self, status: str, run_id: str | None = None) -> None:
        """POST /v2/heartbeats by name."""
        body: dict[str, Any] = {"heartbeat_name": self.service["heartbeat_name"], "status": status}
        if run_id is not None:
            body["run_id"] = run_id
        response = self.client.post("/v2/heartbeats", json=body, headers=self.headers)
        assert response.status_code == 201, response.text

    def route(self, signal: str, run_id: str | None = None) -> None:
        """POST /v2/heartbeat/{id}/start|complete|fail."""
        body = None if run_id is None else {"run_id": run_id}
        response = self.client.post(
            f"/v2/heartbeat/{self.sid}/{signal}", json=body, headers=self.headers
        )
        assert response.status_code == 201, response.text

    def ping(self, suffix: str = "", run_id: str | None = None) -> None:
        """GET /ping/{uuid}{suffix}?rid=..."""
        params = None if run_id is None else {"rid": run_id}
        response = self.client.get(f"/ping/{self.uuid}{suffix}", params=params)
        assert response.status_code == 200, response.text


@pytest.fixture
def job(client: TestClient, register: Register, write_headers: Headers) -> Callable[..., Job]:
    def make(name: str = "nightly-backup", **fields: Any) -> Job:
        fields.setdefault("alert_interval", 24 * 60)
        return Job(client, write_headers, register(name, **fields))

    return make


def results(client: TestClient, url: str, headers: Headers, **params: Any) -> Any:
    response = client.get(url, headers=headers, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return body["results"]


def stats(client: TestClient, headers: Headers, sid: int) -> dict[str, Any]:
    return results(client, f"/v2/services/{sid}/stats", headers)


def runs(client: TestClient, headers: Headers, sid: int, **params: Any) -> dict[str, Any]:
    return results(client, f"/v2/services/{sid}/runs", headers, **params)


def history(client: TestClient, headers: Headers, sid: int) -> list[dict[str, Any]]:
    return results(client, f"/v2/services/{sid}/history", headers)["items"]


def alerts(medic: MedicProcess) -> list[Alert]:
    with medic.db.session() as session:
        return list(session.exec(select(Alert).order_by(Alert.alert_id)))


def notifications(medic: MedicProcess) -> list[Notification]:
    with medic.db.session() as session:
        return list(session.exec(select(Notification).order_by(Notification.notification_id)))


def durations(client: TestClient, headers: Headers, sid: int) -> list[tuple[Any, Any, Any]]:
    """(run_id, outcome, duration_ms) of each run, newest first."""
    return [
        (run["run_id"], run["outcome"], run["duration_ms"])
        for run in runs(client, headers, sid)["items"]
    ]


# --- recording runs --------------------------------------------------------------------------


def test_a_run_without_run_id_lasts_from_start_to_complete(
    client: TestClient, clock: Clock, job: Callable[..., Job], read_headers: Headers
) -> None:
    backup = job()
    backup.beat("STARTED")
    clock.advance(seconds=42)
    backup.beat("COMPLETED")

    assert durations(client, read_headers, backup.sid) == [(None, "completed", 42_000)]


def test_interleaved_run_ids_each_finish_their_own_run(
    client: TestClient, clock: Clock, job: Callable[..., Job], read_headers: Headers
) -> None:
    backup = job()
    backup.beat("STARTED", "a")
    clock.advance(seconds=1)
    backup.beat("STARTED", "b")
    clock.advance(seconds=4)
    backup.beat("COMPLETED", "a")  # a: 5 s
    clock.advance(seconds=3)
    backup.beat("STARTED", "c")
    clock.advance(seconds=2)
    backup.beat("FAILED", "c")  # c: 2 s
    clock.advance(seconds=10)
    backup.beat("COMPLETED", "b")  # b: 19 s

    assert durations(client, read_headers, backup.sid) == [
        ("c", "failed", 2_000),
        ("b", "completed", 19_000),
        ("a", "completed", 5_000),
    ]


def test_the_run_routes_and_the_ping_urls_record_runs_too(
    client: TestClient, clock: Clock, job: Callable[..., Job], read_headers: Headers
) -> None:
    by_route, by_ping = job("by-route"), job("by-ping")
    by_route.route("start", "r-1")
    by_ping.ping("/start", "p-1")
    clock.advance(seconds=7)
    by_ping.ping("/start", "p-2")
    by_route.route("complete", "r-1")
    clock.advance(seconds=5)
    by_ping.ping("", "p-1")  # a plain success ping ends nothing: it is UP, not COMPLETED
    by_ping.ping("/0", "p-1")  # exit status 0 is COMPLETED
    clock.advance(seconds=1)
    by_ping.ping("/fail", "p-2")
    by_route.route("start")
    clock.advance(seconds=2)
    by_route.route("fail")

    assert durations(client, read_headers, by_route.sid) == [
        (None, "failed", 2_000),
        ("r-1", "completed", 7_000),
    ]
    assert durations(client, read_headers, by_ping.sid) == [
        ("p-2", "failed", 6_000),
        ("p-1", "completed", 12_000),
    ]


def test_starting_a_run_again_abandons_the_one_still_open(
    client: TestClient, clock: Clock, job: Callable[..., Job], read_headers: Headers
) -> None:
    backup = job()
    backup.beat("STARTED")
    clock.advance(seconds=5)
    backup.beat("STARTED")  # the first run never ended
    clock.advance(seconds=6)
    backup.beat("COMPLETED")
    backup.beat("STARTED", "x")
    clock.advance(seconds=1)
    backup.beat("STARTED", "x")

    assert durations(client, read_headers, backup.sid) == [
        ("x", None, None),
        ("x", "abandoned", None),
        (None, "completed", 6_000),
        (None, "abandoned", None),
    ]
    summary = stats(client, read_headers, backup.sid)
    assert (summary["count"], summary["completed"], summary["abandoned"], summary["open"]) == (
        1,
        1,
        2,
        1,
    )


# --- statistics ------------------------------------------------------------------------------


def test_stats_of_a_service_without_runs_are_empty(
    client: TestClient, job: Callable[..., Job], read_headers: Headers
) -> None:
    backup = job(max_duration_seconds=900)
    assert stats(client, read_headers, backup.sid) == {
        "service_id": backup.sid,
        "heartbeat_name": "nightly-backup",
        "runs": 0,
        "count": 0,
        "avg_ms": None,
        "p50_ms": None,
        "p95_ms": None,
        "p99_ms": None,
        "last_ms": None,
        "completed": 0,
        "failed": 0,
        "abandoned": 0,
        "open": 0,
        "max_duration_seconds": 900,
    }
    assert runs(client, read_headers, backup.sid) == {
        "items": [],
        "total": 0,
        "limit": 100,
        "offset": 0,
    }


def test_stats_of_known_durations(
    client: TestClient, clock: Clock, job: Callable[..., Job], read_headers: Headers
) -> None:
    """Twenty runs of 1..20 s, finished in shuffled order, one of them failed; one more
    run is still open. Nearest rank: p50 is the 10th (10 s), p95 the 19th, p99 the 20th."""
    backup = job()
    seconds = [7, 3, 20, 1, 12, 5, 18, 9, 14, 2, 16, 11, 4, 19, 6, 13, 8, 17, 10, 15]
    for number, length in enumerate(seconds):
        backup.beat("STARTED", f"run-{number}")
        clock.advance(seconds=length)
        backup.beat("FAILED" if length == 12 else "COMPLETED", f"run-{number}")
        clock.advance(seconds=30)
    backup.beat("STARTED", "still-running")

    summary = stats(client, read_headers, backup.sid)
    assert summary["runs"] == 21
    assert summary["count"] == 20
    assert summary["avg_ms"] == pytest.approx(10_500)
    assert (summary["p50_ms"], summary["p95_ms"], summary["p99_ms"]) == (10_000, 19_000, 20_000)
    assert summary["last_ms"] == 15_000
    assert (summary["completed"], summary["failed"], summary["open"]) == (19, 1, 1)
    assert summary["abandoned"] == 0


def test_only_the_newest_100_runs_are_kept_and_measured(
    client: TestClient, clock: Clock, job: Callable[..., Job], read_headers: Headers
) -> None:
    """Run i lasts i seconds, i = 1..105: runs 6..105 remain."""
    backup = job()
    for length in range(1, 106):
        backup.beat("STARTED", f"run-{length}")
        clock.advance(seconds=length)
        backup.beat("COMPLETED", f"run-{length}")
        clock.advance(seconds=1)

    kept = runs(client, read_headers, backup.sid, limit=1000)
    assert kept["total"] == 100
    assert [run["run_id"] for run in kept["items"]] == [f"run-{i}" for i in range(105, 5, -1)]

    summary = stats(client, read_headers, backup.sid)
    assert (summary["runs"], summary["count"], summary["completed"]) == (100, 100, 100)
    assert summary["avg_ms"] == pytest.approx(55_500)
    assert (summary["p50_ms"], summary["p95_ms"], summary["p99_ms"]) == (55_000, 100_000, 104_000)
    assert summary["last_ms"] == 105_000

    second_page = runs(client, read_headers, backup.sid, limit=10, offset=10)
    assert (second_page["total"], second_page["limit"], second_page["offset"]) == (100, 10, 10)
    assert [run["run_id"] for run in second_page["items"]] == [
        f"run-{i}" for i in range(95, 85, -1)
    ]


# --- detection -------------------------------------------------------------------------------


def test_a_failed_run_alerts_on_the_next_pass_and_a_completed_one_recovers(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    job: Callable[..., Job],
    read_headers: Headers,
) -> None:
    backup = job(alert_interval=60)
    backup.ping()
    assert scheduler.run_pass().opened == 0
    clock.advance(minutes=1)
    backup.ping("/start", "r-1")
    clock.advance(seconds=30)
    backup.ping("/fail", "r-1")

    # Long before the schedule's deadline (an hour away): at once.
    assert scheduler.run_pass().opened == 1
    assert scheduler.run_pass().opened == 0
    (alert,) = alerts(medic)
    assert alert.active
    (opened,) = notifications(medic)
    assert opened.kind == "alert.opened" and opened.alert_id == alert.alert_id
    assert opened.details["problem"] == "failed"
    assert "reported a failure" in opened.details["reason"]
    assert scheduler.sent == [opened.notification_id]

    clock.advance(minutes=5)
    backup.route("start", "r-2")
    clock.advance(seconds=20)
    backup.route("complete", "r-2")
    assert scheduler.run_pass().recovered == 1
    (alert,) = alerts(medic)
    assert not alert.active
    assert [n.kind for n in notifications(medic)] == ["alert.opened", "alert.resolved"]
    assert sorted(set(scheduler.sent)) == [n.notification_id for n in notifications(medic)]
    assert durations(client, read_headers, backup.sid) == [
        ("r-2", "completed", 20_000),
        ("r-1", "failed", 30_000),
    ]


def test_a_run_past_max_duration_opens_one_hung_alert_at_max_duration(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    job: Callable[..., Job],
) -> None:
    backup = job(alert_interval=60, max_duration_seconds=600)
    backup.beat("UP")
    clock.advance(minutes=1)
    backup.beat("STARTED", "r-7")

    clock.advance(seconds=599)
    assert scheduler.run_pass().opened == 0
    assert alerts(medic) == []
    clock.advance(seconds=1)
    assert scheduler.run_pass().opened == 1
    for _ in range(3):
        clock.advance(minutes=20)  # past the schedule's deadline too: still one alert
        assert scheduler.run_pass().opened == 0

    (alert,) = alerts(medic)
    assert alert.active
    (opened,) = notifications(medic)
    assert opened.details["problem"] == "hung"
    assert "run r-7" in opened.details["reason"]
    assert "10m" in opened.details["reason"]
    # Undelivered notifications are re-sent with back-off (the outbox); one notification.
    assert set(scheduler.sent) == {opened.notification_id}


def test_a_run_that_completes_within_max_duration_never_alerts(
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    job: Callable[..., Job],
) -> None:
    backup = job(alert_interval=60, max_duration_seconds=600)
    backup.beat("UP")
    backup.beat("STARTED", "quick")
    clock.advance(seconds=300)
    backup.beat("COMPLETED", "quick")
    clock.advance(seconds=300)
    assert scheduler.run_pass().opened == 0
    clock.advance(seconds=301)
    assert scheduler.run_pass().opened == 0
    assert alerts(medic) == []


@pytest.mark.parametrize("beat_first", [True, False], ids=["after-a-beat", "never-beat"])
def test_a_run_that_never_ends_without_max_duration_is_late_at_the_deadline(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    job: Callable[..., Job],
    read_headers: Headers,
    beat_first: bool,
) -> None:
    beat_at = clock.now()  # registration, or the one beat: the schedule counts from here
    backup = job(alert_interval=5)
    if beat_first:
        backup.beat("UP")
    clock.advance(seconds=30)
    backup.ping("/start", "r-9")
    due = datetime.fromisoformat(
        results(client, f"/v2/services/{backup.sid}", read_headers)["next_due_at"]
    )
    assert due == beat_at + timedelta(minutes=5)

    clock.advance(seconds=(due - clock.now()).total_seconds() - 1)
    assert scheduler.run_pass().opened == 0
    clock.advance(seconds=1)
    assert scheduler.run_pass().opened == 1

    (opened,) = notifications(medic)
    assert opened.details["problem"] == "late"
    assert "run r-9" in opened.details["reason"]
    assert "has not completed" in opened.details["reason"]


# --- ends that match no open run (healthchecks.io's unknown `rid`) --------------------------


def end(job: Job, signal: str, run_id: str) -> Any:
    """POST /v2/heartbeat/{id}/complete|fail with a run id; the response."""
    return job.client.post(
        f"/v2/heartbeat/{job.sid}/{signal}", json={"run_id": run_id}, headers=job.headers
    )


def stored_beats(client: TestClient, headers: Headers, sid: int) -> list[tuple[str, Any]]:
    items = results(client, "/v2/heartbeats", headers, service_id=sid)["items"]
    return [(beat["status"], beat["run_id"]) for beat in items]


def test_an_end_whose_start_was_lost_is_kept_as_a_plain_beat_and_says_the_run_was_unknown(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    job: Callable[..., Job],
    read_headers: Headers,
) -> None:
    """The /start never arrived: the completion still proves the job ran (no false alert
    at the deadline it would otherwise miss), has no duration, and the client is told."""
    backup = job(alert_interval=60)
    clock.advance(minutes=50)

    completed = end(backup, "complete", "lost-start")

    assert completed.status_code == 201, completed.text
    answer = completed.json()
    assert answer["results"]["run"] == {"id": "lost-start", "known": False, "repeated": False}
    assert "no run 'lost-start' was started" in answer["message"]
    assert stored_beats(client, read_headers, backup.sid) == [("COMPLETED", "lost-start")]
    assert durations(client, read_headers, backup.sid) == []
    clock.advance(minutes=50)  # past the registration's deadline, not the completion's
    assert scheduler.run_pass().opened == 0
    assert alerts(medic) == []

    failed = end(backup, "fail", "another-lost-start")  # a failure is never dropped either
    assert failed.status_code == 201
    assert failed.json()["results"]["run"]["known"] is False
    assert scheduler.run_pass().opened == 1


def test_a_retried_end_of_a_finished_run_is_idempotent(
    client: TestClient, clock: Clock, job: Callable[..., Job], read_headers: Headers
) -> None:
    """A client that resends its /complete (a timeout, a retrying curl) gets the first
    answer's heartbeat back with 200; nothing is stored or counted twice."""
    backup = job()
    backup.route("start", "r-1")
    clock.advance(seconds=10)
    first = end(backup, "complete", "r-1")
    clock.advance(seconds=5)
    again = end(backup, "complete", "r-1")
    backup.ping("/start", "r-2")
    clock.advance(seconds=3)
    backup.ping("/1", "r-2")
    backup.ping("/fail", "r-2")  # retried through the ping URL: answers OK, stored once

    assert first.status_code == 201, first.text
    assert first.json()["results"]["run"] == {"id": "r-1", "known": True, "repeated": False}
    assert again.status_code == 200, again.text
    assert again.json()["results"]["run"] == {"id": "r-1", "known": True, "repeated": True}
    assert "nothing new recorded" in again.json()["message"]
    for field in ("heartbeat_id", "time", "status"):
        assert again.json()["results"][field] == first.json()["results"][field]
    assert durations(client, read_headers, backup.sid) == [
        ("r-2", "failed", 3_000),
        ("r-1", "completed", 10_000),
    ]
    assert stored_beats(client, read_headers, backup.sid) == [
        ("FAILED", "r-2"),
        ("STARTED", "r-2"),
        ("COMPLETED", "r-1"),
        ("STARTED", "r-1"),
    ]
    summary = stats(client, read_headers, backup.sid)
    assert (summary["completed"], summary["failed"], summary["count"]) == (1, 1, 2)


def test_an_end_unlike_the_one_that_finished_the_run_is_stored_but_changes_no_run(
    client: TestClient, clock: Clock, job: Callable[..., Job], read_headers: Headers
) -> None:
    """FAILED, then COMPLETED for the same run: not a retry, so the beat is kept (it is
    proof of life), and the run stays as it ended."""
    backup = job()
    backup.route("start", "r-3")
    clock.advance(seconds=4)
    backup.route("fail", "r-3")
    clock.advance(seconds=1)

    completed = end(backup, "complete", "r-3")

    assert completed.status_code == 201
    assert completed.json()["results"]["run"] == {"id": "r-3", "known": True, "repeated": False}
    assert "run 'r-3' had already failed" in completed.json()["message"]
    assert durations(client, read_headers, backup.sid) == [("r-3", "failed", 4_000)]
    assert [s for s, _ in stored_beats(client, read_headers, backup.sid)] == [
        "COMPLETED",
        "FAILED",
        "STARTED",
    ]


# --- history ---------------------------------------------------------------------------------


def test_history_lists_each_down_and_up_with_its_reason(
    client: TestClient,
    clock: Clock,
    scheduler: RecordingScheduler,
    job: Callable[..., Job],
    read_headers: Headers,
) -> None:
    backup = job(alert_interval=60, max_duration_seconds=120)
    assert history(client, read_headers, backup.sid) == []
    backup.beat("UP")
    clock.advance(minutes=1)
    backup.beat("FAILED", "r-1")
    scheduler.run_pass()
    clock.advance(minutes=1)
    backup.beat("COMPLETED")
    scheduler.run_pass()
    clock.advance(minutes=1)
    backup.beat("STARTED", "r-2")
    clock.advance(minutes=2)
    scheduler.run_pass()
    clock.advance(minutes=1)
    backup.beat("COMPLETED", "r-2")
    scheduler.run_pass()

    changes = history(client, read_headers, backup.sid)
    assert [(c["from_state"], c["to_state"]) for c in changes] == [
        ("down", "up"),
        ("up", "down"),
        ("down", "up"),
        ("up", "down"),
    ]
    assert "heartbeat received" in changes[0]["reason"]
    assert "run r-2" in changes[1]["reason"] and "still running" in changes[1]["reason"]
    assert "reported a failure" in changes[3]["reason"]
    assert changes[1]["alert_id"] is not None and changes[1]["alert_id"] == changes[0]["alert_id"]
    assert changes[3]["alert_id"] != changes[1]["alert_id"]
    instants = [datetime.fromisoformat(c["at"]) for c in changes]
    assert instants == sorted(instants, reverse=True)

    page = results(client, f"/v2/services/{backup.sid}/history", read_headers, limit=1, offset=1)
    assert page["total"] == 4
    assert [c["change_id"] for c in page["items"]] == [changes[1]["change_id"]]


# --- the read routes -------------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["stats", "runs", "history"])
def test_unknown_service_is_404_and_reading_needs_a_key(
    client: TestClient, job: Callable[..., Job], read_headers: Headers, resource: str
) -> None:
    response = client.get(f"/v2/services/999999/{resource}", headers=read_headers)
    assert response.status_code == 404, response.text
    assert response.json()["success"] is False
    assert "999999" in response.json()["message"]

    backup = job()
    assert client.get(f"/v2/services/{backup.sid}/{resource}").status_code == 401
    assert (
        client.get(f"/v2/services/{backup.sid}/{resource}", headers=read_headers).status_code == 200
    )
