"""Service dependencies end to end (REST, scheduler, SQLite and PostgreSQL): while a
parent is down its children's alerts are opened and recorded but not sent, saying
why; once the parent recovers, children still down are announced once. Cycles and
unknown parents are refused when written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import col, select

from medic.models import Alert, Notification, Service, StateChange
from medic.process import MedicProcess
from tests.support import Clock, RecordingScheduler

Register = Callable[..., dict[str, Any]]
HELD = "suppressed: parent 'db' is down"


def beat(client: TestClient, headers: dict[str, str], *names: str) -> None:
    for name in names:
        body = {"heartbeat_name": name, "status": "UP"}
        assert client.post("/v2/heartbeats", json=body, headers=headers).status_code == 201


def openings(medic: MedicProcess, name: str) -> list[Notification]:
    with medic.db.session() as session:
        service_id = session.exec(
            select(Service.service_id).where(Service.heartbeat_name == name)
        ).one()
        return list(
            session.exec(
                select(Notification)
                .where(Notification.service_id == service_id)
                .where(Notification.kind == "alert.opened")
                .order_by(col(Notification.notification_id))
            )
        )


def test_a_child_down_with_its_parent_is_recorded_not_sent_then_announced_once(
    medic: MedicProcess,
    client: TestClient,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Register,
    write_headers: dict[str, str],
    read_headers: dict[str, str],
) -> None:
    register("db", alert_interval=1)
    api_id = register("api", alert_interval=1, depends_on=["DB"])["service_id"]
    register("web", alert_interval=5, depends_on=["api"])
    beat(client, write_headers, "db", "api", "web")
    clock.advance(seconds=61)
    assert scheduler.run_pass().opened == 2  # db and api, in one pass

    (db_opened,) = openings(medic, "db")
    (api_opened,) = openings(medic, "api")
    assert db_opened.suppressed_by is None
    assert api_opened.suppressed_by == HELD
    assert api_opened.notification_id not in scheduler.sent

    alerts = client.get("/v2/alerts", headers=read_headers).json()["results"]["items"]
    held = {a["alert_name"]: a["suppressed_by"] for a in alerts}
    assert held == {"db is down": None, "api is down": HELD}
    api = client.get(f"/v2/services/{api_id}", headers=read_headers).json()["results"]
    assert api["depends_on"] == ["db"]
    assert HELD in api["state_reason"]
    listed = client.get(
        "/v2/notifications", params={"kind": "alert.opened"}, headers=read_headers
    ).json()["results"]["items"]
    assert HELD in [n["suppressed_by"] for n in listed]
    with medic.db.session() as session:
        reasons = session.exec(select(StateChange.reason).where(StateChange.to_state == "down"))
        assert any(HELD in (reason or "") for reason in reasons)

    clock.advance(seconds=30)
    beat(client, write_headers, "db")
    assert scheduler.run_pass().recovered == 1
    scheduler.run_pass()  # the children of a parent that recovered are looked at now
    announced = [n for n in openings(medic, "api") if n.suppressed_by is None]
    assert len(announced) == 1
    assert announced[0].notification_id in scheduler.sent
    for _ in range(3):
        clock.advance(seconds=61)
        scheduler.run_pass()
    assert len([n for n in openings(medic, "api") if n.suppressed_by is None]) == 1
    with medic.db.session() as session:
        alert = session.exec(select(Alert).where(Alert.alert_name == "api is down")).one()
        assert alert.suppressed_by is None and alert.active
    assert openings(medic, "web") == []  # web is not late yet: nothing invented


def test_a_child_that_goes_down_after_its_parent_is_held_back(
    medic: MedicProcess,
    client: TestClient,
    clock: Clock,
    scheduler: RecordingScheduler,
    register: Register,
    write_headers: dict[str, str],
) -> None:
    register("db", alert_interval=1)
    register("worker", alert_interval=3, depends_on=["db"])
    beat(client, write_headers, "db", "worker")
    clock.advance(seconds=61)
    assert scheduler.run_pass().opened == 1
    clock.advance(minutes=2)
    assert scheduler.run_pass().opened == 1
    (opened,) = openings(medic, "worker")
    assert opened.suppressed_by == HELD


def test_dependencies_refuse_cycles_and_unknown_parents_and_follow_renames(
    client: TestClient, register: Register, admin_headers: dict[str, str]
) -> None:
    ids = {
        "db": register("db", alert_interval=1)["service_id"],
        "api": register("api", alert_interval=1, depends_on=["db"])["service_id"],
        "web": register("web", alert_interval=1, depends_on=["api"])["service_id"],
    }
    ids["API-v2"] = ids["api"]

    def patch(name: str, body: dict[str, Any]) -> Any:
        return client.patch(f"/v2/services/{ids[name]}", json=body, headers=admin_headers)

    def get(name: str) -> dict[str, Any]:
        return client.get(f"/v2/services/{ids[name]}", headers=admin_headers).json()["results"]

    refused = patch("db", {"depends_on": ["web"]})
    assert refused.status_code == 400
    assert "cycle: db → web → api → db" in refused.json()["message"]
    assert patch("db", {"depends_on": ["db"]}).status_code == 400
    unknown = patch("web", {"depends_on": ["nope"]})
    assert unknown.status_code == 400 and "'nope'" in unknown.json()["message"]
    assert patch("web", {"depends_on": None}).status_code == 400
    assert patch("web", {"depends_on": "api"}).status_code == 400
    body = {"heartbeat_name": "x", "alert_interval": 1, "depends_on": ["missing"]}
    created = client.post("/v2/services", json=body, headers=admin_headers)
    assert created.status_code == 400 and "depends_on" in created.json()["message"]

    assert patch("api", {"heartbeat_name": "API-v2"}).status_code == 200
    assert get("web")["depends_on"] == ["API-v2"]
    refused = patch("db", {"depends_on": ["web"]})
    assert "db → web → API-v2 → db" in refused.json()["message"]
    assert client.delete(f"/v2/services/{ids['api']}", headers=admin_headers).status_code == 200
    assert get("web")["depends_on"] == []
    assert patch("web", {"depends_on": []}).status_code == 200
