"""The v1 API: the original Medic's routes and contract (DESIGN.md, "Heartbeat API").

Two promises run through this module:

* The original's routes, field names, success statuses and envelope
  `{"success", "message", "results"}` are kept: `results` is a list on reads and
  `""` on errors, the flags `active`, `muted`, `down` are the integers 0/1, and
  times are ISO 8601 with an offset. Every route is served at `/…` and at `/v1/…`,
  so the route tests run under both prefixes (and, through the shared `backend`
  fixture, on SQLite and PostgreSQL).
* Bad input gets a clear 4xx naming what is wrong: never a 500, and never a row
  written or changed; every rejected write is checked against the database. The
  prefixes share one router, so these tables run under the root prefix only, each
  case as a subtest of one test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from medic.models import Alert, HeartbeatEvent, Service
from medic.process import MedicProcess

V1_SERVICE_FIELDS = {
    "service_id",
    "heartbeat_name",
    "service_name",
    "active",
    "alert_interval",
    "team",
    "priority",
    "muted",
    "down",
    "threshold",
    "runbook",
    "date_added",
    "date_modified",
    "date_muted",
}
V1_HEARTBEAT_FIELDS = {
    "heartbeat_id",
    "heartbeat_name",
    "service_name",
    "time",
    "status",
    "team",
    "priority",
    "run_id",
}
V1_ALERT_FIELDS = {
    "alert_id",
    "alert_name",
    "service_id",
    "active",
    "external_reference_id",
    "alert_cycle",
    "created_date",
    "closed_date",
}
STATUSES = ("UP", "DOWN", "DEGRADED", "STARTED", "COMPLETED", "FAILED")
WRITE_ROUTES = ("/heartbeat", "/service", "/service/nightly-backup")
TEN_MB = 10 * 1024 * 1024
LONG_NAME = "n" * 10_000
UNICODE_NAME = "nächtliche-Sicherung-バックアップ-✓🚀"
MISSING = object()


# ---------------------------------------------------------------------------
# Helpers and fixtures
# ---------------------------------------------------------------------------


@dataclass
class V1Api:
    """The v1 API under one prefix, called with an admin key unless told otherwise."""

    client: TestClient
    prefix: str
    headers: dict[str, str] = field(default_factory=dict)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.get(f"{self.prefix}{path}", headers=headers, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.post(f"{self.prefix}{path}", headers=headers, **kwargs)

    def beat(self, heartbeat_name: str, status: str = "UP", /, **fields: Any) -> httpx.Response:
        """POST /heartbeat."""
        return self.post(
            "/heartbeat", json={"heartbeat_name": heartbeat_name, "status": status, **fields}
        )

    def register(self, heartbeat_name: str = "nightly-backup", /, **fields: Any) -> httpx.Response:
        """POST /service with a valid body, `fields` changed."""
        return self.post("/service", json=service_body(heartbeat_name=heartbeat_name, **fields))

    def update(self, heartbeat_name: str, /, **fields: Any) -> httpx.Response:
        """POST /service/{heartbeat_name}."""
        return self.post(f"/service/{heartbeat_name}", json=fields)


@dataclass(frozen=True)
class Rows:
    services: int
    heartbeats: int


def service_body(**changes: Any) -> dict[str, Any]:
    """A valid v1 registration with `changes` applied; MISSING removes a field."""
    body: dict[str, Any] = {
        "heartbeat_name": "nightly-backup",
        "service_name": "backups",
        "alert_interval": 5,
    }
    for name, value in changes.items():
        if value is MISSING:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def succeeded(response: httpx.Response, status: int = 200) -> Any:
    """Assert a successful v1 answer in the envelope; return its `results`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"success", "message", "results"}
    assert body["success"] is True
    return body["results"]


def rejected(response: httpx.Response, status: int, *mentions: str) -> str:
    """Assert an error answer: the envelope, results "", a message naming `mentions`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"success", "message", "results"}
    assert body["success"] is False
    assert body["results"] == ""
    message = body["message"]
    assert message and not message.startswith(" "), message
    for text in mentions:
        assert text in message, message
    return message


def iso_with_offset(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None, f"{value!r} has no UTC offset"
    return parsed


def is_flag(value: Any, expected: int) -> bool:
    """v1 flags are the integers 0/1, never JSON booleans."""
    return type(value) is int and value == expected


@pytest.fixture(params=["", "/v1"], ids=["root", "v1-prefix"])
def prefix(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def v1(client: TestClient, prefix: str, admin_headers: dict[str, str]) -> V1Api:
    """The v1 API under each prefix in turn."""
    return V1Api(client, prefix, admin_headers)


@pytest.fixture
def root(client: TestClient, admin_headers: dict[str, str]) -> V1Api:
    """The v1 API under the root prefix, where the original clients post."""
    return V1Api(client, "", admin_headers)


@pytest.fixture
def count_rows(medic: MedicProcess) -> Callable[[], Rows]:
    def count() -> Rows:
        with medic.db.session() as session:
            return Rows(
                services=session.exec(select(func.count()).select_from(Service)).one(),
                heartbeats=session.exec(select(func.count()).select_from(HeartbeatEvent)).one(),
            )

    return count


@pytest.fixture
def stored_services(medic: MedicProcess) -> Callable[[], list[dict[str, Any]]]:
    def load() -> list[dict[str, Any]]:
        with medic.db.session() as session:
            rows = session.exec(select(Service).order_by(Service.service_id)).all()
            return [row.model_dump() for row in rows]

    return load


@pytest.fixture
def stored_service(medic: MedicProcess) -> Callable[[str], Service]:
    def load(heartbeat_name: str) -> Service:
        with medic.db.session() as session:
            return session.exec(
                select(Service).where(Service.heartbeat_name == heartbeat_name)
            ).one()

    return load


@pytest.fixture
def writes_nothing(
    count_rows: Callable[[], Rows], stored_services: Callable[[], list[dict[str, Any]]]
) -> Callable[[], AbstractContextManager[None]]:
    """`with writes_nothing(): …` asserts that no row was added and no service changed."""

    @contextmanager
    def check() -> Iterator[None]:
        rows_before, services_before = count_rows(), stored_services()
        yield
        assert count_rows() == rows_before
        assert stored_services() == services_before

    return check


@pytest.fixture
def add_heartbeats(medic: MedicProcess) -> Callable[[int, int], list[datetime]]:
    """Store `count` UP heartbeats one second apart, oldest first; return their times."""

    def add(service_id: int, count: int) -> list[datetime]:
        start = datetime.now(UTC) - timedelta(hours=1)
        times = [start + timedelta(seconds=i) for i in range(count)]
        with medic.db.session() as session:
            session.add_all(
                HeartbeatEvent(service_id=service_id, time=t, status="UP") for t in times
            )
        return times

    return add


@pytest.fixture
def add_alert(medic: MedicProcess) -> Callable[..., int]:
    """Store an alert (opening and closing them is detection's job, not v1's)."""

    def add(service_id: int, *, active: bool = True, name: str = "late") -> int:
        alert = Alert(
            service_id=service_id,
            alert_name=name,
            active=active,
            closed_date=None if active else datetime.now(UTC),
        )
        with medic.db.session() as session:
            session.add(alert)
            session.flush()
            assert alert.alert_id is not None
            return alert.alert_id

    return add


# ---------------------------------------------------------------------------
# POST /heartbeat
# ---------------------------------------------------------------------------


def test_posting_a_heartbeat_returns_201_and_stores_it(
    v1: V1Api, register, count_rows, medic: MedicProcess
) -> None:
    register("nightly-backup")

    response = v1.beat("nightly-backup", "UP", run_id="run-42")

    assert succeeded(response, 201) == ""
    assert response.json()["message"] == "Heartbeat Posted Successfully."
    assert count_rows() == Rows(services=1, heartbeats=1)
    with medic.db.session() as session:
        event = session.exec(select(HeartbeatEvent)).one()
    assert (event.status, event.run_id) == ("UP", "run-42")


def test_heartbeat_names_match_case_insensitively(v1: V1Api, register, count_rows) -> None:
    register("Nightly-Backup")
    register("Straße-Sync")

    for posted in ("nightly-backup", "NIGHTLY-BACKUP", "  Nightly-Backup  ", "STRASSE-SYNC"):
        succeeded(v1.beat(posted), 201)

    assert count_rows().heartbeats == 4


def test_every_documented_status_is_accepted_in_any_case(v1: V1Api, register) -> None:
    register("nightly-backup")
    sent = [*STATUSES, "up", " Completed "]

    for status in sent:
        succeeded(v1.beat("nightly-backup", status), 201)

    items = succeeded(v1.get("/heartbeat"))
    assert [item["status"] for item in reversed(items)] == [s.strip().upper() for s in sent]


def test_service_name_in_a_heartbeat_is_optional_and_does_not_change_matching(
    v1: V1Api, register
) -> None:
    register("nightly-backup", service_name="backups")

    succeeded(v1.beat("nightly-backup", service_name="something-else"), 201)
    succeeded(v1.beat("nightly-backup"), 201)

    items = succeeded(v1.get("/heartbeat"))
    assert [item["service_name"] for item in items] == ["backups", "backups"]


def test_heartbeat_for_an_unregistered_name_returns_404_and_stores_nothing(
    v1: V1Api, register, writes_nothing
) -> None:
    register("nightly-backup")

    with writes_nothing():
        response = v1.beat("weekly-report")

    rejected(response, 404, "weekly-report")


def test_heartbeat_with_an_invalid_status_returns_400_naming_the_choices(
    v1: V1Api, register, writes_nothing
) -> None:
    register("nightly-backup")

    with writes_nothing():
        response = v1.beat("nightly-backup", "SLEEPING")

    rejected(response, 400, "status must be one of", "UP", "FAILED")


def test_heartbeat_for_an_inactive_service_returns_400_and_stores_nothing(
    v1: V1Api, register, writes_nothing
) -> None:
    register("nightly-backup", active=False)

    with writes_nothing():
        response = v1.beat("nightly-backup")

    rejected(response, 400, "inactive")


# ---------------------------------------------------------------------------
# GET /heartbeat
# ---------------------------------------------------------------------------


def test_listing_heartbeats_returns_newest_first_with_the_v1_fields(v1: V1Api, register) -> None:
    register("nightly-backup", service_name="backups", team="storage", priority="p2")
    for status, run_id in [("STARTED", "r1"), ("COMPLETED", "r1"), ("DOWN", None)]:
        succeeded(v1.beat("nightly-backup", status, run_id=run_id), 201)

    items = succeeded(v1.get("/heartbeat"))

    assert [(i["status"], i["run_id"]) for i in items] == [
        ("DOWN", None),
        ("COMPLETED", "r1"),
        ("STARTED", "r1"),
    ]
    for item in items:
        assert set(item) == V1_HEARTBEAT_FIELDS
        assert isinstance(item["heartbeat_id"], int)
        assert (item["heartbeat_name"], item["service_name"]) == ("nightly-backup", "backups")
        assert (item["team"], item["priority"]) == ("storage", "p2")
    times = [iso_with_offset(item["time"]) for item in items]
    assert times == sorted(times, reverse=True)


def test_listing_heartbeats_with_none_stored_returns_an_empty_list(v1: V1Api) -> None:
    assert succeeded(v1.get("/heartbeat")) == []


def test_max_count_defaults_to_and_is_capped_at_250(v1: V1Api, register, add_heartbeats) -> None:
    service = register("nightly-backup")
    times = add_heartbeats(service["service_id"], 260)

    default = succeeded(v1.get("/heartbeat"))
    too_many = succeeded(v1.get("/heartbeat", params={"maxCount": 10_000}))

    assert len(default) == 250
    assert [iso_with_offset(i["time"]) for i in default] == times[::-1][:250]
    assert too_many == default


def test_max_count_returns_that_many_newest_heartbeats(v1: V1Api, register, add_heartbeats) -> None:
    service = register("nightly-backup")
    times = add_heartbeats(service["service_id"], 10)

    items = succeeded(v1.get("/heartbeat", params={"maxCount": 3}))

    assert [iso_with_offset(i["time"]) for i in items] == times[::-1][:3]


def test_max_count_that_is_not_a_positive_integer_is_400(v1: V1Api) -> None:
    for max_count in ("0", "-1", "many", "2.5"):
        rejected(v1.get("/heartbeat", params={"maxCount": max_count}), 400, "maxCount")


def test_heartbeats_filter_by_heartbeat_name_case_insensitively(v1: V1Api, register) -> None:
    register("nightly-backup")
    register("weekly-report")
    succeeded(v1.beat("nightly-backup"), 201)
    succeeded(v1.beat("weekly-report"), 201)
    succeeded(v1.beat("nightly-backup", "DOWN"), 201)

    items = succeeded(v1.get("/heartbeat", params={"heartbeat_name": "NIGHTLY-backup"}))

    assert [(i["heartbeat_name"], i["status"]) for i in items] == [
        ("nightly-backup", "DOWN"),
        ("nightly-backup", "UP"),
    ]


def test_heartbeats_filter_by_service_name(v1: V1Api, register) -> None:
    register("nightly-backup", service_name="backups")
    register("weekly-report", service_name="reports")
    succeeded(v1.beat("nightly-backup"), 201)
    succeeded(v1.beat("weekly-report"), 201)

    items = succeeded(v1.get("/heartbeat", params={"service_name": "reports"}))

    assert [i["heartbeat_name"] for i in items] == ["weekly-report"]
    assert succeeded(v1.get("/heartbeat", params={"service_name": "nobody"})) == []


def test_filtering_heartbeats_by_an_unregistered_name_returns_404(v1: V1Api) -> None:
    rejected(v1.get("/heartbeat", params={"heartbeat_name": "ghost"}), 404, "ghost")


# ---------------------------------------------------------------------------
# POST /service
# ---------------------------------------------------------------------------


def test_registering_a_new_service_returns_201_with_the_v1_defaults(v1: V1Api, count_rows) -> None:
    response = v1.register("nightly-backup", service_name="backups", alert_interval=5)

    [service] = succeeded(response, 201)
    assert response.json()["message"] == "Heartbeat successfully registered."
    assert set(service) == V1_SERVICE_FIELDS
    expected = {
        "heartbeat_name": "nightly-backup",
        "service_name": "backups",
        "alert_interval": 5,
        "threshold": 1,
        "team": "site-reliability",
        "priority": "p3",
        "runbook": None,
        "date_muted": None,
    }
    assert {k: service[k] for k in expected} == expected
    assert is_flag(service["active"], 1)
    assert is_flag(service["muted"], 0)
    assert is_flag(service["down"], 0)
    assert abs(datetime.now(UTC) - iso_with_offset(service["date_added"])) < timedelta(minutes=1)
    iso_with_offset(service["date_modified"])
    assert count_rows() == Rows(services=1, heartbeats=0)


def test_registering_stores_every_optional_field(v1: V1Api, stored_service) -> None:
    fields = {"threshold": 3, "team": "storage", "priority": "P1", "runbook": "https://rb/1"}

    [service] = succeeded(v1.register("nightly-backup", alert_interval=60, **fields), 201)

    assert {k: service[k] for k in fields} == {**fields, "priority": "p1"}
    stored = stored_service("nightly-backup")
    assert (stored.alert_interval, stored.threshold, stored.priority) == (60, 3, "p1")


def test_registering_an_existing_name_returns_200_and_changes_nothing(
    v1: V1Api, writes_nothing
) -> None:
    [original] = succeeded(v1.register("Nightly-Backup", alert_interval=5), 201)

    with writes_nothing():
        again = v1.register("nightly-backup", alert_interval=99, team="other", priority="p1")

    assert succeeded(again, 200) == [original]
    assert again.json()["message"] == "Heartbeat is already registered."


def test_environment_registers_the_name_as_environment_dash_name(v1: V1Api, stored_service) -> None:
    [service] = succeeded(v1.register("nightly-backup", environment="staging"), 201)

    assert service["heartbeat_name"] == "staging-nightly-backup"
    assert stored_service("staging-nightly-backup").name_key == "staging-nightly-backup"
    succeeded(v1.beat("staging-nightly-backup"), 201)
    rejected(v1.beat("nightly-backup"), 404)


def test_a_blank_environment_leaves_the_name_alone(v1: V1Api) -> None:
    for name, environment in [("first", ""), ("second", "   "), ("third", None)]:
        [service] = succeeded(v1.register(name, environment=environment), 201)
        assert service["heartbeat_name"] == name


def test_the_same_name_in_another_environment_is_a_new_service(v1: V1Api, count_rows) -> None:
    succeeded(v1.register("nightly-backup", environment="staging"), 201)
    succeeded(v1.register("nightly-backup", environment="production"), 201)
    succeeded(v1.register("nightly-backup"), 201)

    assert count_rows().services == 3


# ---------------------------------------------------------------------------
# GET /service and GET /service/{heartbeat_name}
# ---------------------------------------------------------------------------


def test_listing_services_returns_every_service_in_the_v1_shape(v1: V1Api, register) -> None:
    register("nightly-backup")
    register("weekly-report", service_name="reports")

    services = succeeded(v1.get("/service"))

    assert [s["heartbeat_name"] for s in services] == ["nightly-backup", "weekly-report"]
    for service in services:
        assert set(service) == V1_SERVICE_FIELDS
        assert is_flag(service["active"], 1)
        assert is_flag(service["muted"], 0)
        assert is_flag(service["down"], 0)
        iso_with_offset(service["date_added"])


def test_listing_services_with_none_registered_returns_an_empty_list(v1: V1Api) -> None:
    assert succeeded(v1.get("/service")) == []


def test_services_filter_by_service_name(v1: V1Api, register) -> None:
    register("nightly-backup", service_name="backups")
    register("weekly-report", service_name="reports")
    register("hourly-backup", service_name="backups")

    services = succeeded(v1.get("/service", params={"service_name": "backups"}))

    assert [s["heartbeat_name"] for s in services] == ["nightly-backup", "hourly-backup"]


def test_services_filter_by_active_0_or_1(v1: V1Api, register) -> None:
    register("nightly-backup")
    register("retired-job", active=False)

    active = succeeded(v1.get("/service", params={"active": 1}))
    inactive = succeeded(v1.get("/service", params={"active": 0}))

    assert [(s["heartbeat_name"], s["active"]) for s in active] == [("nightly-backup", 1)]
    assert [(s["heartbeat_name"], s["active"]) for s in inactive] == [("retired-job", 0)]


def test_the_services_active_filter_accepts_only_0_or_1(v1: V1Api) -> None:
    for active in ("2", "-1", "yes", "true"):
        rejected(v1.get("/service", params={"active": active}), 400, "active")


def test_getting_one_service_returns_a_one_item_list(v1: V1Api, register) -> None:
    register("Nightly-Backup", service_name="backups")

    services = succeeded(v1.get("/service/nightly-BACKUP"))

    assert len(services) == 1
    assert set(services[0]) == V1_SERVICE_FIELDS
    assert (services[0]["heartbeat_name"], services[0]["service_name"]) == (
        "Nightly-Backup",
        "backups",
    )


def test_getting_an_unknown_service_returns_404(v1: V1Api, register) -> None:
    register("nightly-backup")

    rejected(v1.get("/service/ghost"), 404, "'ghost' is registered")
    rejected(v1.get(f"/service/{LONG_NAME}"), 404, "is registered")


# ---------------------------------------------------------------------------
# POST /service/{heartbeat_name}
# ---------------------------------------------------------------------------


def test_updating_a_service_changes_only_the_given_fields(
    v1: V1Api, register, stored_service
) -> None:
    register("nightly-backup", service_name="backups", alert_interval=5)
    [before] = succeeded(v1.get("/service/nightly-backup"))

    response = v1.update("NIGHTLY-backup", alert_interval=30, team="storage")

    [after] = succeeded(response)
    assert response.json()["message"] == "Heartbeat successfully updated."
    changed = {k for k in V1_SERVICE_FIELDS if after[k] != before[k]}
    assert changed == {"alert_interval", "team", "date_modified"}
    assert (after["alert_interval"], after["team"]) == (30, "storage")
    assert iso_with_offset(after["date_modified"]) >= iso_with_offset(before["date_modified"])
    stored = stored_service("nightly-backup")
    assert (stored.alert_interval, stored.team, stored.service_name) == (30, "storage", "backups")


def test_every_v1_field_can_be_updated(v1: V1Api, register) -> None:
    register("nightly-backup")
    changes = {
        "service_name": "archives",
        "alert_interval": 120,
        "threshold": 2,
        "team": "storage",
        "priority": "P2",
        "runbook": "https://runbooks/backup",
    }

    [service] = succeeded(v1.update("nightly-backup", **changes))

    assert {k: service[k] for k in changes} == {**changes, "priority": "p2"}


def test_down_cannot_be_set_because_it_follows_the_state(v1: V1Api, register) -> None:
    register("nightly-backup")

    response = v1.update("nightly-backup", down=1)

    assert response.status_code == 400
    assert "down follows the service's state" in response.json()["message"]
    [service] = succeeded(v1.get("/service/nightly-backup"))
    assert is_flag(service["down"], 0)


@pytest.mark.parametrize("flag", ["muted", "active"])
def test_flags_are_integers_in_responses_however_they_are_sent(
    v1: V1Api, register, flag: str
) -> None:
    register("nightly-backup")

    for sent, shown in [(1, 1), (0, 0), (True, 1), (False, 0)]:
        [updated] = succeeded(v1.update("nightly-backup", **{flag: sent}))
        [read_back] = succeeded(v1.get("/service/nightly-backup"))
        assert is_flag(updated[flag], shown), (sent, updated[flag])
        assert is_flag(read_back[flag], shown), (sent, read_back[flag])


def test_updating_an_unknown_service_returns_404_and_creates_nothing(
    v1: V1Api, register, writes_nothing
) -> None:
    register("nightly-backup")

    with writes_nothing():
        response = v1.update("ghost", team="storage")

    rejected(response, 404, "ghost")


@pytest.mark.parametrize("unknown", ["colour", "heartbeat_name"])
def test_updating_with_an_unknown_field_returns_400_naming_it(
    v1: V1Api, register, writes_nothing, unknown: str
) -> None:
    register("nightly-backup")

    with writes_nothing():
        response = v1.update("nightly-backup", team="storage", **{unknown: "x"})

    rejected(response, 400, f"unknown field {unknown!r}")


def test_updating_with_no_fields_returns_400(v1: V1Api, register, writes_nothing) -> None:
    register("nightly-backup")

    with writes_nothing():
        response = v1.update("nightly-backup")

    rejected(response, 400, "no fields to update")


# ---------------------------------------------------------------------------
# Deactivating and muting through POST /service/{heartbeat_name}
# ---------------------------------------------------------------------------


def test_deactivating_a_service_makes_its_heartbeats_400_until_reactivated(
    v1: V1Api, register, writes_nothing
) -> None:
    register("nightly-backup")
    succeeded(v1.beat("nightly-backup"), 201)

    [service] = succeeded(v1.update("nightly-backup", active=0))
    assert is_flag(service["active"], 0)
    with writes_nothing():
        response = v1.beat("nightly-backup")
    rejected(response, 400, "inactive")

    succeeded(v1.update("nightly-backup", active=1))
    succeeded(v1.beat("nightly-backup"), 201)


def test_deactivating_a_service_closes_its_open_alert(
    v1: V1Api, register, add_alert, stored_service
) -> None:
    service = register("nightly-backup")
    add_alert(service["service_id"])

    [updated] = succeeded(v1.update("nightly-backup", active=0))

    assert is_flag(updated["down"], 0)
    assert stored_service("nightly-backup").down is False
    assert succeeded(v1.get("/alerts", params={"active": 1})) == []
    [closed] = succeeded(v1.get("/alerts", params={"active": 0}))
    iso_with_offset(closed["closed_date"])


def test_muting_sets_date_muted_and_unmuting_clears_the_flag(
    v1: V1Api, register, stored_service
) -> None:
    register("nightly-backup")

    [muted] = succeeded(v1.update("nightly-backup", muted=1))

    assert is_flag(muted["muted"], 1)
    date_muted = iso_with_offset(muted["date_muted"])
    assert abs(datetime.now(UTC) - date_muted) < timedelta(minutes=1)
    stored = stored_service("nightly-backup")
    assert stored.muted is True
    assert stored.date_muted is not None
    assert stored.muted_until is not None and stored.muted_until > stored.date_muted

    [unmuted] = succeeded(v1.update("nightly-backup", muted=0))

    assert is_flag(unmuted["muted"], 0)
    assert stored_service("nightly-backup").muted_until is None


def test_muting_an_already_muted_service_is_a_new_mute_from_now(
    v1: V1Api, register, stored_service
) -> None:
    """`{"muted": 1}` is the mute command: a second one restarts the duration, and each
    is audited as service.mute (tests/test_door_parity.py walks every door)."""
    register("nightly-backup")
    succeeded(v1.update("nightly-backup", muted=1))
    first_until = stored_service("nightly-backup").muted_until

    [second] = succeeded(v1.update("nightly-backup", muted=1))

    assert is_flag(second["muted"], 1)
    assert stored_service("nightly-backup").muted_until > first_until


def test_a_muted_service_still_accepts_heartbeats(v1: V1Api, register) -> None:
    register("nightly-backup")
    succeeded(v1.update("nightly-backup", muted=1))

    succeeded(v1.beat("nightly-backup"), 201)


# ---------------------------------------------------------------------------
# GET /alerts
# ---------------------------------------------------------------------------


def test_listing_alerts_returns_newest_first_in_the_v1_shape(
    v1: V1Api, register, add_alert
) -> None:
    backup = register("nightly-backup")
    report = register("weekly-report")
    closed = add_alert(backup["service_id"], active=False, name="backup late")
    opened = add_alert(report["service_id"], name="report late")

    alerts = succeeded(v1.get("/alerts"))

    assert [a["alert_id"] for a in alerts] == [opened, closed]
    for alert in alerts:
        assert set(alert) == V1_ALERT_FIELDS
        iso_with_offset(alert["created_date"])
    newest, oldest = alerts
    assert (newest["alert_name"], newest["service_id"]) == ("report late", report["service_id"])
    assert is_flag(newest["active"], 1)
    assert newest["closed_date"] is None
    assert is_flag(oldest["active"], 0)
    iso_with_offset(oldest["closed_date"])


def test_alerts_filter_by_active_0_or_1(v1: V1Api, register, add_alert) -> None:
    backup = register("nightly-backup")
    report = register("weekly-report")
    closed = add_alert(backup["service_id"], active=False)
    opened = add_alert(report["service_id"])

    assert [a["alert_id"] for a in succeeded(v1.get("/alerts", params={"active": 1}))] == [opened]
    assert [a["alert_id"] for a in succeeded(v1.get("/alerts", params={"active": 0}))] == [closed]


def test_listing_alerts_with_none_stored_returns_an_empty_list(v1: V1Api) -> None:
    assert succeeded(v1.get("/alerts")) == []


def test_the_alerts_active_filter_accepts_only_0_or_1(v1: V1Api) -> None:
    for active in ("2", "yes"):
        rejected(v1.get("/alerts", params={"active": active}), 400, "active")


# ---------------------------------------------------------------------------
# Health check and keys
# ---------------------------------------------------------------------------


def test_network_healthcheck_returns_204_without_a_key(client: TestClient, prefix: str) -> None:
    response = client.get(f"{prefix}/healthcheck/network")

    assert response.status_code == 204
    assert response.content == b""


def test_every_other_v1_route_needs_an_api_key(
    client: TestClient, prefix: str, register, writes_nothing
) -> None:
    register("nightly-backup")
    routes = [
        ("POST", "/heartbeat", {"heartbeat_name": "nightly-backup", "status": "UP"}),
        ("GET", "/heartbeat", None),
        ("POST", "/service", service_body(heartbeat_name="other")),
        ("GET", "/service", None),
        ("GET", "/service/nightly-backup", None),
        ("POST", "/service/nightly-backup", {"team": "storage"}),
        ("GET", "/alerts", None),
    ]

    for method, path, body in routes:
        with writes_nothing():
            response = client.request(method, f"{prefix}{path}", json=body)
        rejected(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_read_only_key_can_read_but_not_write(
    client: TestClient, prefix: str, register, read_headers: dict[str, str], writes_nothing
) -> None:
    register("nightly-backup")
    reader = V1Api(client, prefix, read_headers)

    for path, body in [
        ("/heartbeat", {"heartbeat_name": "nightly-backup", "status": "UP"}),
        ("/service", service_body(heartbeat_name="other")),
        ("/service/nightly-backup", {"team": "storage"}),
    ]:
        with writes_nothing():
            response = reader.post(path, json=body)
        rejected(response, 403)

    for path in ("/heartbeat", "/service", "/service/nightly-backup", "/alerts"):
        succeeded(reader.get(path))


# ---------------------------------------------------------------------------
# Bad input: a clear 400 (or 413), never a 500, never a partial write
# ---------------------------------------------------------------------------

BAD_REGISTRATIONS: dict[str, tuple[dict[str, Any], str]] = {
    "no heartbeat_name": ({"heartbeat_name": MISSING}, "heartbeat_name is required"),
    "no service_name": ({"service_name": MISSING}, "service_name is required"),
    "no alert_interval": ({"alert_interval": MISSING}, "alert_interval is required"),
    "null heartbeat_name": ({"heartbeat_name": None}, "heartbeat_name"),
    "number as heartbeat_name": ({"heartbeat_name": 42}, "heartbeat_name"),
    "list as heartbeat_name": ({"heartbeat_name": ["a"]}, "heartbeat_name"),
    "object as service_name": ({"service_name": {"a": 1}}, "service_name"),
    "word as alert_interval": ({"alert_interval": "five"}, "alert_interval"),
    "fractional alert_interval": ({"alert_interval": 2.5}, "alert_interval"),
    "zero alert_interval": ({"alert_interval": 0}, "alert_interval must be at least 1"),
    "negative alert_interval": ({"alert_interval": -5}, "alert_interval must be at least 1"),
    "huge alert_interval": ({"alert_interval": 10**30}, "alert_interval must be at most"),
    "zero threshold": ({"threshold": 0}, "threshold must be at least 1"),
    "negative threshold": ({"threshold": -1}, "threshold must be at least 1"),
    "word as threshold": ({"threshold": "many"}, "threshold"),
    "10000-character heartbeat_name": ({"heartbeat_name": LONG_NAME}, "heartbeat_name"),
    "10000-character service_name": ({"service_name": LONG_NAME}, "service_name"),
    "10000-character team": ({"team": LONG_NAME}, "team"),
    "10000-character runbook": ({"runbook": "r" * 10_000}, "runbook"),
    "10000-character environment": ({"environment": LONG_NAME}, "environment"),
    "environment making the name too long": (
        {"heartbeat_name": "n" * 250, "environment": "production"},
        "at most 255 characters",
    ),
    "empty heartbeat_name": ({"heartbeat_name": ""}, "must not be empty"),
    "blank heartbeat_name": ({"heartbeat_name": "   "}, "must not be empty"),
    "slash in heartbeat_name": ({"heartbeat_name": "a/b"}, "must not contain '/'"),
    "newline in heartbeat_name": ({"heartbeat_name": "a\nb"}, "control characters"),
    "NUL in heartbeat_name": ({"heartbeat_name": "a\x00b"}, "heartbeat_name"),
    "NUL in service_name": ({"service_name": "a\x00b"}, "service_name"),
    "NUL in team": ({"team": "a\x00b"}, "team"),
    "empty team": ({"team": ""}, "team"),
    "unknown priority": ({"priority": "urgent"}, "priority must be one of"),
    "number as priority": ({"priority": 1}, "priority"),
    "unknown field": ({"colour": "blue"}, "unknown field 'colour'"),
}


def test_registration_with_bad_input_returns_400_and_writes_nothing(
    root: V1Api, writes_nothing, subtests: pytest.Subtests
) -> None:
    for case, (changes, mentions) in BAD_REGISTRATIONS.items():
        with subtests.test(case), writes_nothing():
            rejected(root.post("/service", json=service_body(**changes)), 400, mentions)


def _beat(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"heartbeat_name": "nightly-backup", "status": "UP"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not MISSING}


BAD_HEARTBEATS: dict[str, tuple[dict[str, Any], str]] = {
    "no heartbeat_name": (_beat(heartbeat_name=MISSING), "heartbeat_name is required"),
    "no status": (_beat(status=MISSING), "status is required"),
    "null heartbeat_name": (_beat(heartbeat_name=None), "heartbeat_name"),
    "number as heartbeat_name": (_beat(heartbeat_name=42), "heartbeat_name"),
    "empty heartbeat_name": (_beat(heartbeat_name=""), "heartbeat_name"),
    "10000-character heartbeat_name": (_beat(heartbeat_name=LONG_NAME), "heartbeat_name"),
    "NUL in heartbeat_name": (_beat(heartbeat_name="nightly-backup\x00"), "heartbeat_name"),
    "number as status": (_beat(status=1), "status"),
    "empty status": (_beat(status=""), "status"),
    "long status": (_beat(status="UP" * 100), "status"),
    "10000-character run_id": (_beat(run_id="r" * 10_000), "run_id"),
    "blank run_id": (_beat(run_id="   "), "run_id"),
    "NUL in run_id": (_beat(run_id="r\x00"), "run_id"),
    "number as run_id": (_beat(run_id=7), "run_id"),
    "unknown field": (_beat(colour="blue"), "unknown field 'colour'"),
}


def test_heartbeat_with_bad_input_returns_400_and_writes_nothing(
    root: V1Api, register, writes_nothing, subtests: pytest.Subtests
) -> None:
    register("nightly-backup")

    for case, (body, mentions) in BAD_HEARTBEATS.items():
        with subtests.test(case), writes_nothing():
            rejected(root.post("/heartbeat", json=body), 400, mentions)

    succeeded(root.beat("nightly-backup"), 201)


BAD_UPDATES: dict[str, tuple[dict[str, Any], str]] = {
    "zero alert_interval": ({"alert_interval": 0}, "alert_interval must be at least 1"),
    "negative alert_interval": ({"alert_interval": -1}, "alert_interval must be at least 1"),
    "word as alert_interval": ({"alert_interval": "soon"}, "alert_interval"),
    "null alert_interval": ({"alert_interval": None}, "alert_interval must not be null"),
    "zero threshold": ({"threshold": 0}, "threshold must be at least 1"),
    "null threshold": ({"threshold": None}, "threshold must not be null"),
    "null team": ({"team": None}, "team must not be null"),
    "10000-character team": ({"team": LONG_NAME}, "team"),
    "10000-character service_name": ({"service_name": LONG_NAME}, "service_name"),
    "NUL in service_name": ({"service_name": "a\x00"}, "service_name"),
    "NUL in runbook": ({"runbook": "a\x00"}, "runbook"),
    "unknown priority": ({"priority": "p9"}, "priority must be one of"),
    "null priority": ({"priority": None}, "priority must not be null"),
    "muted 2": ({"muted": 2}, "muted"),
    "muted as a word": ({"muted": "maybe"}, "muted"),
    "null muted": ({"muted": None}, "muted must not be null"),
    "active -1": ({"active": -1}, "active"),
    "null active": ({"active": None}, "active must not be null"),
    "list as down": ({"down": [1]}, "down"),
    "null down": ({"down": None}, "down follows the service's state"),
    "a good field beside a bad one": (
        {"team": "storage", "alert_interval": 0},
        "alert_interval must be at least 1",
    ),
}


def test_update_with_bad_input_returns_400_and_leaves_the_service_unchanged(
    root: V1Api, register, writes_nothing, subtests: pytest.Subtests
) -> None:
    register("nightly-backup")

    for case, (changes, mentions) in BAD_UPDATES.items():
        with subtests.test(case), writes_nothing():
            rejected(root.update("nightly-backup", **changes), 400, mentions)


JSON_OBJECT = "the request body must be a JSON object"
NOT_JSON_OBJECTS: dict[str, tuple[bytes, str, str]] = {
    "not JSON": (b"heartbeat_name=nightly-backup", "application/json", JSON_OBJECT),
    "truncated JSON": (b'{"heartbeat_name": "nightly-backup",', "application/json", JSON_OBJECT),
    "a JSON array": (b'[{"heartbeat_name": "nightly-backup"}]', "application/json", JSON_OBJECT),
    "a JSON string": (b'"nightly-backup"', "application/json", JSON_OBJECT),
    "a JSON number": (b"42", "application/json", JSON_OBJECT),
    "JSON null": (b"null", "application/json", JSON_OBJECT),
    "an empty body": (b"", "application/json", JSON_OBJECT),
    # FastAPI's own answer to undecodable bytes: "There was an error parsing the body".
    "bytes that are not UTF-8": (b"\xff\xfe\x00", "application/json", "body"),
    "a form": (b"heartbeat_name=nightly-backup", "application/x-www-form-urlencoded", JSON_OBJECT),
    "plain text": (b"nightly-backup UP", "text/plain", JSON_OBJECT),
}


def test_a_body_that_is_not_a_json_object_is_400(
    root: V1Api, register, writes_nothing, subtests: pytest.Subtests
) -> None:
    register("nightly-backup")

    for case, (content, content_type, mentions) in NOT_JSON_OBJECTS.items():
        for path in WRITE_ROUTES:
            with subtests.test(case, path=path), writes_nothing():
                response = root.post(path, content=content, headers={"content-type": content_type})
                rejected(response, 400, mentions)


def _padded_body(size: int) -> bytes:
    """A valid JSON object of about `size` bytes: only its size is wrong."""
    body = {"heartbeat_name": "nightly-backup", "status": "UP", "runbook": "x" * size}
    return json.dumps(body).encode()


def test_a_10_mb_body_is_413(root: V1Api, register, writes_nothing) -> None:
    register("nightly-backup")
    body = _padded_body(TEN_MB)

    for path in WRITE_ROUTES:
        with writes_nothing():
            response = root.post(path, content=body, headers={"content-type": "application/json"})
        rejected(response, 413, "larger than")


def test_a_10_mb_body_sent_without_content_length_is_413(
    root: V1Api, register, writes_nothing
) -> None:
    register("nightly-backup")
    body = _padded_body(TEN_MB)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 1024 * 1024):
            yield body[start : start + 1024 * 1024]

    for path in WRITE_ROUTES:
        with writes_nothing():
            response = root.post(
                path, content=chunks(), headers={"content-type": "application/json"}
            )
        assert "content-length" not in response.request.headers
        rejected(response, 413, "larger than")


def test_unicode_names_are_accepted_and_round_trip(v1: V1Api, stored_service) -> None:
    registered = v1.register(UNICODE_NAME, service_name="Sauvegardes-été", team="équipe-ストレージ")

    [service] = succeeded(registered, 201)
    assert service["heartbeat_name"] == UNICODE_NAME
    succeeded(v1.beat(UNICODE_NAME.upper()), 201)
    [read_back] = succeeded(v1.get(f"/service/{UNICODE_NAME}"))
    assert (read_back["heartbeat_name"], read_back["service_name"], read_back["team"]) == (
        UNICODE_NAME,
        "Sauvegardes-été",
        "équipe-ストレージ",
    )
    [listed] = succeeded(v1.get("/service", params={"service_name": "Sauvegardes-été"}))
    assert listed["heartbeat_name"] == UNICODE_NAME
    [beat] = succeeded(v1.get("/heartbeat", params={"heartbeat_name": UNICODE_NAME}))
    assert (beat["heartbeat_name"], beat["service_name"]) == (UNICODE_NAME, "Sauvegardes-été")
    [updated] = succeeded(v1.update(UNICODE_NAME, runbook="https://wiki/実行手順"))
    assert updated["runbook"] == "https://wiki/実行手順"
    assert stored_service(UNICODE_NAME).runbook == "https://wiki/実行手順"


def test_a_nul_character_in_a_lookup_is_never_a_500(root: V1Api, register) -> None:
    """PostgreSQL cannot compare text with NUL (400); SQLite finds nothing (404 or [])."""
    register("nightly-backup")

    for path, params in [
        ("/service/nightly-backup%00", {}),
        ("/heartbeat", {"heartbeat_name": "nightly-backup\x00"}),
        ("/heartbeat", {"service_name": "backups\x00"}),
        ("/service", {"service_name": "backups\x00"}),
    ]:
        response = root.get(path, params=params)
        if response.status_code == 200:
            assert succeeded(response) == []
        else:
            assert response.status_code in (400, 404), response.text
            rejected(response, response.status_code)
