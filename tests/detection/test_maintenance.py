"""Maintenance windows (SRE-14), end to end: created over the v2 API, opened and closed
by the scheduler, silencing notifications (never state) for the services they cover."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import Alert, AuditEntry, MaintenanceWindow, Notification
from medic.process import MedicProcess
from tests.support import Clock, RecordingScheduler

URL = "/v2/maintenance-windows"
NEW_YORK = ZoneInfo("America/New_York")
Headers = dict[str, str]


def _iso(instant: datetime) -> str:
    return instant.isoformat()


def _notifications(medic: MedicProcess, kind: str | None = None) -> list[Notification]:
    with medic.db.session() as session:
        statement = select(Notification).order_by(Notification.notification_id)
        if kind is not None:
            statement = statement.where(Notification.kind == kind)
        return list(session.exec(statement))


def _audit(medic: MedicProcess, action: str) -> list[AuditEntry]:
    with medic.db.session() as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)))


def _create(client: TestClient, headers: Headers, **body: Any) -> dict[str, Any]:
    response = client.post(URL, json={"name": "db upgrade", **body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["results"]


def _one_time(clock: Clock, start_in: timedelta, length: timedelta, **extra: Any) -> dict:
    start = clock.now() + start_in
    return {"starts_at": _iso(start), "ends_at": _iso(start + length), **extra}


def _travel_to(clock: Clock, instant: datetime) -> None:
    clock.advance(seconds=(instant - clock.now()).total_seconds())


def _beat(client: TestClient, headers: Headers, name: str) -> None:
    beat = {"heartbeat_name": name, "status": "UP"}
    assert client.post("/v2/heartbeats", json=beat, headers=headers).status_code == 201


# --------------------------------------------------------------------------- the API


def test_create_a_one_time_window(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    register: Callable[..., dict[str, Any]],
    write_headers: Headers,
) -> None:
    service = register("nightly-backup")
    start = clock.now() + timedelta(hours=1)
    response = client.post(
        URL,
        json={
            "name": "db upgrade",
            "reason": "postgres 17",
            "service_ids": [service["service_id"]],
            "starts_at": _iso(start),
            "ends_at": _iso(start + timedelta(hours=2)),
        },
        headers=write_headers,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["success"] is True
    window = body["results"]
    assert window["name"] == "db upgrade"
    assert window["reason"] == "postgres 17"
    assert window["service_ids"] == [service["service_id"]]
    assert window["recurring"] is False
    assert window["open_now"] is False
    assert window["in_progress"] is False
    assert datetime.fromisoformat(window["starts_at"]) == start
    assert datetime.fromisoformat(window["next_transition_at"]) == start
    assert window["timezone"] == "UTC"  # MEDIC_TIMEZONE in the tests
    (entry,) = _audit(medic, "maintenance.create")
    assert entry.target_id == str(window["window_id"])
    assert entry.actor == "test-writer"

    fetched = client.get(f"{URL}/{window['window_id']}", headers=write_headers)
    assert fetched.status_code == 200
    assert fetched.json()["results"]["window_id"] == window["window_id"]


def test_a_duration_instead_of_an_end_is_parsed_by_the_window_command(
    client: TestClient, clock: Clock, write_headers: Headers
) -> None:
    """The same `duration` Slack and MCP give: a one-time window from now (or from
    starts_at), or each occurrence of a recurring one (rounded up to whole minutes)."""
    now = _create(client, write_headers, duration="90m")
    opens = datetime.fromisoformat(now["starts_at"])
    assert abs(opens - clock.now()) < timedelta(seconds=5)
    assert datetime.fromisoformat(now["ends_at"]) - opens == timedelta(minutes=90)
    assert now["open_now"] is True

    later = clock.now() + timedelta(days=1)
    planned = _create(client, write_headers, starts_at=_iso(later), duration="2h")
    assert datetime.fromisoformat(planned["ends_at"]) == later + timedelta(hours=2)

    weekly = _create(client, write_headers, cron_expression="0 2 * * 0", duration="90s")
    assert (weekly["recurring"], weekly["duration_minutes"]) == (True, 2)

    for body, message in (
        ({"duration": "0m"}, "duration: duration must be positive"),
        ({"duration": "1h", "ends_at": _iso(later)}, "give ends_at or duration, not both"),
        (
            {"cron_expression": "0 2 * * 0", "duration": "1h", "duration_minutes": 60},
            "give duration or duration_minutes, not both",
        ),
        ({"cron_expression": "0 2 * * 0", "duration": "32d"}, "at most 44640 minutes"),
    ):
        response = client.post(URL, json={"name": "x", **body}, headers=write_headers)
        assert response.status_code == 400, response.text
        assert message in response.json()["message"]


def test_create_a_recurring_window(
    client: TestClient, clock: Clock, write_headers: Headers
) -> None:
    window = _create(
        client,
        write_headers,
        cron_expression="0 2 * * 0",
        duration_minutes=120,
        timezone="Europe/Berlin",
    )

    assert window["recurring"] is True
    assert window["service_ids"] is None  # every service
    assert window["timezone"] == "Europe/Berlin"
    assert (window["starts_at"], window["ends_at"]) == (None, None)
    next_open = datetime.fromisoformat(window["next_transition_at"])
    if not window["open_now"]:
        local = next_open.astimezone(ZoneInfo("Europe/Berlin"))
        assert (local.weekday(), local.hour, local.minute) == (6, 2, 0)  # Sunday 02:00
    assert clock.now() < next_open <= clock.now() + timedelta(days=7, hours=2)


def test_a_window_that_started_already_is_open_at_once(
    client: TestClient, clock: Clock, write_headers: Headers
) -> None:
    window = _create(
        client, write_headers, **_one_time(clock, timedelta(hours=-1), timedelta(hours=2))
    )
    assert window["open_now"] is True
    assert window["in_progress"] is False  # the scheduler has not announced it yet
    assert window["current_occurrence_ends_at"] == window["ends_at"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"cron_expression": "61 * * * *", "duration_minutes": 30}, "is not valid"),
        ({"cron_expression": "every day", "duration_minutes": 30}, "five fields"),
        ({"cron_expression": "0 0 * * * *", "duration_minutes": 30}, "five fields"),
        ({"cron_expression": "@daily", "duration_minutes": 30}, "five fields"),
        ({"cron_expression": "0 0 30 2 *", "duration_minutes": 30}, "never fires"),
        ({"cron_expression": "0 2 * * *"}, "needs duration_minutes"),
        ({"duration_minutes": 30}, "needs cron_expression"),
        ({"cron_expression": "0 2 * * *", "duration_minutes": 0}, "duration_minutes"),
        ({"cron_expression": "0 2 * * *", "duration_minutes": 44641}, "duration_minutes"),
        (
            {"cron_expression": "0 2 * * *", "duration_minutes": 30, "timezone": "Mars/Olympus"},
            "not a known IANA timezone",
        ),
        (
            {"cron_expression": "0 2 * * *", "duration_minutes": 30, "timezone": "EST"},
            "not an IANA timezone name",
        ),
        ({"starts_at": "+1h", "ends_at": "-1h"}, "ends_at must be after starts_at"),
        ({"starts_at": "+1h", "ends_at": "+1h"}, "ends_at must be after starts_at"),
        ({"starts_at": "-3h", "ends_at": "-1h"}, "is in the past"),
        ({"starts_at": "+1h"}, "needs both starts_at and ends_at"),
        ({"ends_at": "+1h"}, "needs both starts_at and ends_at"),
        (
            {"starts_at": "+1h", "ends_at": "+2h", "cron_expression": "0 2 * * *"},
            "not both",
        ),
        ({"starts_at": "2030-01-01T02:00:00", "ends_at": "+2h"}, "timezone"),
        ({}, "give starts_at and ends_at"),
        ({"starts_at": "+1h", "ends_at": "+2h", "service_ids": []}, "at least one"),
        ({"starts_at": "+1h", "ends_at": "+2h", "name": ""}, "name"),
        ({"starts_at": "+1h", "ends_at": "+2h", "colour": "red"}, "unknown field 'colour'"),
        ({"starts_at": "+1h", "ends_at": "+2h", "reason": "x" * 1001}, "reason"),
        ({"starts_at": "+1h", "ends_at": "+2h", "name": "a\x00b"}, "NUL"),
    ],
)
def test_a_bad_window_is_refused_with_a_clear_message(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    write_headers: Headers,
    body: dict[str, Any],
    message: str,
) -> None:
    now = clock.now()
    for field in ("starts_at", "ends_at"):
        value = body.get(field)
        if isinstance(value, str) and value[0] in "+-":
            body = {**body, field: _iso(now + timedelta(hours=int(value[:-1])))}
    response = client.post(URL, json={"name": "db upgrade", **body}, headers=write_headers)

    assert response.status_code == 400, response.text
    assert response.json()["success"] is False
    assert message in response.json()["message"]
    with medic.db.session() as session:
        assert session.exec(select(MaintenanceWindow)).first() is None


def test_unknown_service_ids_are_named(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    register: Callable[..., dict[str, Any]],
    write_headers: Headers,
) -> None:
    known = register("nightly-backup")["service_id"]
    body = _one_time(
        clock, timedelta(hours=1), timedelta(hours=1), service_ids=[known, 987654, 987655]
    )
    response = client.post(URL, json={"name": "x", **body}, headers=write_headers)

    assert response.status_code == 400, response.text
    assert response.json()["message"] == "unknown service ids: 987654, 987655"
    with medic.db.session() as session:
        assert session.exec(select(MaintenanceWindow)).first() is None


def test_unknown_windows_are_404(client: TestClient, write_headers: Headers) -> None:
    for method in ("GET", "DELETE"):
        for window_id in (12345, 0, 2**40):
            response = client.request(method, f"{URL}/{window_id}", headers=write_headers)
            assert response.status_code == 404, response.text
            assert response.json()["message"] == f"no maintenance window with id {window_id}"
    assert client.get(f"{URL}/abc", headers=write_headers).status_code == 400


def test_scopes_read_lists_write_changes(
    client: TestClient, clock: Clock, read_headers: Headers, write_headers: Headers
) -> None:
    body = {"name": "x", **_one_time(clock, timedelta(hours=1), timedelta(hours=1))}
    assert client.post(URL, json=body, headers=read_headers).status_code == 403
    assert client.post(URL, json=body).status_code == 401
    window = _create(client, write_headers, **body)
    assert client.get(URL, headers=read_headers).status_code == 200
    assert client.get(f"{URL}/{window['window_id']}", headers=read_headers).status_code == 200
    response = client.delete(f"{URL}/{window['window_id']}", headers=read_headers)
    assert response.status_code == 403


def test_list_all_or_only_open_ones(
    client: TestClient, clock: Clock, read_headers: Headers, write_headers: Headers
) -> None:
    later = _create(
        client, write_headers, **_one_time(clock, timedelta(hours=1), timedelta(hours=1))
    )
    now = _create(
        client, write_headers, **_one_time(clock, timedelta(hours=-1), timedelta(hours=2))
    )

    everything = client.get(URL, headers=read_headers).json()["results"]
    assert everything["total"] == 2
    assert [w["window_id"] for w in everything["items"]] == [later["window_id"], now["window_id"]]
    assert [w["open_now"] for w in everything["items"]] == [False, True]

    active = client.get(URL, params={"active": "true"}, headers=read_headers).json()["results"]
    assert active["total"] == 1
    assert [w["window_id"] for w in active["items"]] == [now["window_id"]]

    paged = client.get(URL, params={"limit": 1, "offset": 1}, headers=read_headers).json()
    assert paged["results"]["total"] == 2
    assert [w["window_id"] for w in paged["results"]["items"]] == [now["window_id"]]


# --------------------------------------------------------------------------- the scheduler


def test_start_and_end_are_announced_once_each(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    write_headers: Headers,
) -> None:
    window = _create(
        client,
        write_headers,
        reason="postgres 17",
        **_one_time(clock, timedelta(minutes=2), timedelta(minutes=10)),
    )

    for _ in range(3):
        scheduler.run_pass()
    assert _notifications(medic) == []

    clock.advance(minutes=2, seconds=5)
    for _ in range(3):
        scheduler.run_pass()
    (started,) = _notifications(medic)
    assert started.kind == "maintenance.started"
    assert started.window_id == window["window_id"]
    assert started.suppressed_by is None
    assert started.details["window"] == "db upgrade"
    assert started.details["reason"] == "postgres 17"
    view = client.get(f"{URL}/{window['window_id']}", headers=write_headers).json()["results"]
    assert view["open_now"] is True and view["in_progress"] is True
    assert view["next_transition_at"] == window["ends_at"]

    for _ in range(4):
        clock.advance(minutes=3)
        scheduler.run_pass()
    kinds = [n.kind for n in _notifications(medic)]
    assert kinds == ["maintenance.started", "maintenance.ended"]
    for _ in range(3):
        clock.advance(hours=1)
        scheduler.run_pass()
    notifications = _notifications(medic)
    assert [n.kind for n in notifications] == ["maintenance.started", "maintenance.ended"]
    assert set(scheduler.sent) == {n.notification_id for n in notifications}
    view = client.get(f"{URL}/{window['window_id']}", headers=write_headers).json()["results"]
    assert view["open_now"] is False and view["in_progress"] is False
    assert view["next_transition_at"] is None


def test_a_late_service_in_a_window_goes_down_but_nobody_is_told(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Callable[..., dict[str, Any]],
    write_headers: Headers,
) -> None:
    service = register("nightly-backup", alert_interval=1)
    _beat(client, write_headers, "nightly-backup")
    _create(
        client,
        write_headers,
        service_ids=[service["service_id"]],
        **_one_time(clock, timedelta(minutes=-1), timedelta(hours=1)),
    )
    assert scheduler.run_pass().opened == 0

    clock.advance(seconds=61)
    assert scheduler.run_pass().opened == 1

    # State changes: the service is down and its alert open …
    state = client.get(f"/v2/services/{service['service_id']}", headers=write_headers).json()
    assert state["results"]["state"] == "down"
    with medic.db.session() as session:
        (alert,) = session.exec(select(Alert)).all()
    assert alert.active
    # … but the alert's notification is recorded as suppressed, and never sent.
    (opened,) = _notifications(medic, "alert.opened")
    assert opened.suppressed_by == "maintenance window 'db upgrade'"
    assert opened.alert_id == alert.alert_id
    (started,) = _notifications(medic, "maintenance.started")
    assert started.notification_id in scheduler.sent
    assert opened.notification_id not in scheduler.sent
    clock.advance(minutes=5)
    scheduler.run_pass()
    assert opened.notification_id not in scheduler.sent


def test_a_service_still_down_when_the_window_ends_is_announced_then_once(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Callable[..., dict[str, Any]],
    write_headers: Headers,
) -> None:
    service = register("nightly-backup", alert_interval=1)
    _beat(client, write_headers, "nightly-backup")
    _create(
        client,
        write_headers,
        service_ids=[service["service_id"]],
        **_one_time(clock, timedelta(minutes=-1), timedelta(minutes=10)),
    )
    clock.advance(seconds=61)
    scheduler.run_pass()
    (silenced,) = _notifications(medic, "alert.opened")
    assert silenced.suppressed_by is not None
    clock.advance(minutes=10)
    scheduler.run_pass()
    clock.advance(minutes=3)
    scheduler.run_pass()
    _, announced = _notifications(medic, "alert.opened")
    assert announced.suppressed_by is None and announced.notification_id in scheduler.sent
    assert "still down after notifications were silenced" in announced.details["reason"]
    _beat(client, write_headers, "nightly-backup")
    scheduler.run_pass()
    (resolved,) = _notifications(medic, "alert.resolved")
    assert resolved.suppressed_by is None


def test_a_window_for_another_service_does_not_silence(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Callable[..., dict[str, Any]],
    write_headers: Headers,
) -> None:
    register("nightly-backup", alert_interval=1)
    other = register("hourly-report", alert_interval=60)
    _beat(client, write_headers, "nightly-backup")
    _create(
        client,
        write_headers,
        service_ids=[other["service_id"]],
        **_one_time(clock, timedelta(minutes=-1), timedelta(hours=1)),
    )
    scheduler.run_pass()

    clock.advance(seconds=61)
    assert scheduler.run_pass().opened == 1

    (opened,) = _notifications(medic, "alert.opened")
    assert opened.suppressed_by is None
    assert opened.details["heartbeat_name"] == "nightly-backup"
    assert opened.notification_id in scheduler.sent


def test_a_window_for_every_service_silences_each(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Callable[..., dict[str, Any]],
    write_headers: Headers,
) -> None:
    for name in ("nightly-backup", "hourly-report"):
        register(name, alert_interval=1)
        _beat(client, write_headers, name)
    _create(client, write_headers, **_one_time(clock, timedelta(minutes=-1), timedelta(hours=1)))
    scheduler.run_pass()

    clock.advance(seconds=61)
    assert scheduler.run_pass().opened == 2

    opened = _notifications(medic, "alert.opened")
    assert len(opened) == 2
    assert all(n.suppressed_by == "maintenance window 'db upgrade'" for n in opened)
    assert not {n.notification_id for n in opened} & set(scheduler.sent)


def _next_dst_change(after: datetime) -> datetime:
    """The first day (New York midnight, in UTC) after `after` whose offset differs from
    the day before's."""
    day = after.astimezone(NEW_YORK).date() + timedelta(days=2)
    while True:
        before = datetime(day.year, day.month, day.day, tzinfo=NEW_YORK) - timedelta(days=1)
        after_day = datetime(day.year, day.month, day.day, 12, tzinfo=NEW_YORK)
        if before.utcoffset() != after_day.utcoffset():
            return datetime(day.year, day.month, day.day, tzinfo=NEW_YORK).astimezone(UTC)
        day += timedelta(days=1)


def test_a_recurring_window_follows_its_timezone_across_a_dst_change(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    write_headers: Headers,
) -> None:
    """01:30 New York daily for 30 minutes: the UTC instants move by an hour at the change."""
    change_day = _next_dst_change(clock.now()).astimezone(NEW_YORK).date()
    days = [change_day + timedelta(days=n) for n in (-1, 0, 1)]
    # 01:30 exists on every day (the spring gap is 02:00-03:00); in the repeated autumn
    # hour the window opens at the first 01:30 (fold=0).
    opens = [
        datetime(d.year, d.month, d.day, 1, 30, tzinfo=NEW_YORK, fold=0).astimezone(UTC)
        for d in days
    ]
    assert opens[0].time() != opens[2].time()  # the offset really changed
    _travel_to(clock, opens[0] - timedelta(hours=6))
    window = _create(
        client,
        write_headers,
        cron_expression="30 1 * * *",
        duration_minutes=30,
        timezone="America/New_York",
    )
    assert datetime.fromisoformat(window["next_transition_at"]) == opens[0]
    scheduler.run_pass()

    for start in opens:
        _travel_to(clock, start - timedelta(seconds=10))
        scheduler.run_pass()
        view = client.get(f"{URL}/{window['window_id']}", headers=write_headers).json()["results"]
        assert view["open_now"] is False
        assert datetime.fromisoformat(view["next_transition_at"]) == start

        _travel_to(clock, start + timedelta(seconds=5))
        scheduler.run_pass()
        view = client.get(f"{URL}/{window['window_id']}", headers=write_headers).json()["results"]
        assert view["open_now"] is True and view["in_progress"] is True
        assert datetime.fromisoformat(view["current_occurrence_ends_at"]) == start + timedelta(
            minutes=30
        )

        _travel_to(clock, start + timedelta(minutes=30, seconds=5))
        scheduler.run_pass()

    notifications = _notifications(medic)
    assert [n.kind for n in notifications] == ["maintenance.started", "maintenance.ended"] * 3
    starts = [n.created_at for n in notifications if n.kind == "maintenance.started"]
    ends = [n.created_at for n in notifications if n.kind == "maintenance.ended"]
    for start, started_at, ended_at in zip(opens, starts, ends, strict=True):
        assert start <= started_at < start + timedelta(seconds=30)
        end = start + timedelta(minutes=30)
        assert end <= ended_at < end + timedelta(seconds=30)


def test_deleting_a_window_in_progress_announces_its_end(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    write_headers: Headers,
) -> None:
    window = _create(
        client,
        write_headers,
        **_one_time(clock, timedelta(minutes=-1), timedelta(hours=1)),
    )
    scheduler.run_pass()
    assert [n.kind for n in _notifications(medic)] == ["maintenance.started"]

    response = client.delete(f"{URL}/{window['window_id']}", headers=write_headers)

    assert response.status_code == 200, response.text
    assert response.json()["results"] == {"window_id": window["window_id"]}
    assert client.get(f"{URL}/{window['window_id']}", headers=write_headers).status_code == 404
    started, ended = _notifications(medic)
    assert ended.kind == "maintenance.ended"
    assert ended.suppressed_by is None
    assert ended.details["window"] == "db upgrade"
    assert ended.details["window_id"] == window["window_id"]
    assert started.window_id is None  # the row it referred to is gone (ON DELETE SET NULL)
    (entry,) = _audit(medic, "maintenance.delete")
    assert entry.target_id == str(window["window_id"])

    scheduler.run_pass()
    assert ended.notification_id in scheduler.sent
    clock.advance(hours=2)
    scheduler.run_pass()
    assert [n.kind for n in _notifications(medic)] == ["maintenance.started", "maintenance.ended"]


def test_deleting_a_window_not_in_progress_announces_nothing(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    write_headers: Headers,
) -> None:
    window = _create(
        client, write_headers, **_one_time(clock, timedelta(hours=1), timedelta(hours=1))
    )
    scheduler.run_pass()

    assert client.delete(f"{URL}/{window['window_id']}", headers=write_headers).status_code == 200

    assert _notifications(medic) == []
    clock.advance(hours=3)
    scheduler.run_pass()
    assert _notifications(medic) == []


def test_the_cli_opens_a_window_for_a_duration_the_command_parses(
    medic_cli: Any, register: Any
) -> None:
    """`medic maintenance create --duration 2h` hands the text to the window command
    (one parser for every door); a bad duration is refused with its reason."""
    register("nightly-backup")

    made = medic_cli("maintenance", "create", "--name", "deploy", "--duration", "2h", "--json")
    refused = medic_cli(
        "maintenance", "create", "--name", "deploy", "--duration", "forever", code=1
    )

    window = json.loads(made.output)
    assert window["open_now"] is True
    assert "invalid duration 'forever'" in refused.output


def test_a_window_over_two_teams_services_is_announced_to_each_team(
    client: TestClient,
    medic: MedicProcess,
    clock: Clock,
    scheduler: RecordingScheduler,
    write_headers: Headers,
    register: Callable[..., dict[str, Any]],
) -> None:
    """Like their alerts, each team hears of the window through its own routing (its
    Slack channel): one notice per team, naming that team's services."""
    db = register("db-primary", team="storage")
    replica = register("db-replica", team="storage")
    api = register("api", team="payments")
    ids = [db["service_id"], replica["service_id"], api["service_id"]]
    _create(
        client,
        write_headers,
        service_ids=ids,
        **_one_time(clock, timedelta(minutes=1), timedelta(minutes=10)),
    )

    clock.advance(minutes=1, seconds=5)
    scheduler.run_pass()

    started = _notifications(medic, "maintenance.started")
    assert sorted((n.service_id, n.details["service_ids"]) for n in started) == sorted(
        [
            (db["service_id"], [db["service_id"], replica["service_id"]]),
            (api["service_id"], [api["service_id"]]),
        ]
    )
