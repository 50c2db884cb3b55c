"""Nagging end to end (REST, scheduler, delivery; SQLite and PostgreSQL): a target or
a routing rule with `repeat_every` gets an open, unacknowledged alert again at that
interval; acknowledging or muting stops it; a reminder is sent once however many
schedulers pass."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.models import AlertReminder
from medic.process import MedicProcess
from medic.scheduler.reminders import _claim
from tests.fakes.receiver import Receiver
from tests.postman import Postman
from tests.routing.helpers import Api
from tests.support import Clock, RecordingScheduler


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"medic_allowed_webhook_hosts": "127.0.0.1"}


@pytest.fixture
def api(client: TestClient, admin_headers: dict[str, str]) -> Api:
    return Api(client, admin_headers)


def hook(api: Api, receiver: Receiver, name: str = "ops-hook", **fields: Any) -> dict[str, Any]:
    config = {"url": f"{receiver.url}/{name}"}
    return api.create(
        "notification-targets", {"name": name, "kind": "webhook", "config": config, **fields}
    )  # type: ignore[no-any-return]


def events(receiver: Receiver) -> list[str]:
    return [request.json["event"] for request in receiver.requests]


def pass_and_deliver(scheduler: RecordingScheduler, postman: Postman) -> None:
    scheduler.run_pass()
    postman.deliver()


def test_a_target_repeats_an_open_alert_until_it_is_acknowledged(
    api: Api,
    webhook_receiver: Receiver,
    outage: Callable[..., Any],
    postman: Postman,
    scheduler: RecordingScheduler,
    clock: Clock,
    medic: MedicProcess,
) -> None:
    target = hook(api, webhook_receiver, repeat_every="30m")
    assert target["repeat_every"] == "30m"
    api.create("routing-policies", {"name": "default", "rules": [{"targets": ["ops-hook"]}]})
    outage("nightly-backup")
    postman.deliver()
    assert events(webhook_receiver) == ["alert.opened"]

    clock.advance(minutes=29)
    pass_and_deliver(scheduler, postman)
    assert events(webhook_receiver) == ["alert.opened"]
    clock.advance(minutes=2)
    pass_and_deliver(scheduler, postman)
    assert events(webhook_receiver) == ["alert.opened", "alert.repeated"]
    body = webhook_receiver.requests[-1].json
    assert body["details"]["repeat"] == 1
    assert "still DOWN, not acknowledged (reminder 1)" in body["summary"]
    pass_and_deliver(scheduler, postman)  # a second pass at once sends nothing more
    clock.advance(minutes=31)
    pass_and_deliver(scheduler, postman)
    assert events(webhook_receiver)[-1] == "alert.repeated"
    assert webhook_receiver.requests[-1].json["details"]["repeat"] == 2

    (alert,) = api.get("alerts", active=True)["items"]
    api.call("POST", f"/v2/alerts/{alert['alert_id']}/acknowledge", 200)
    clock.advance(hours=2)
    pass_and_deliver(scheduler, postman)
    assert events(webhook_receiver).count("alert.repeated") == 2
    with medic.db.session() as session:
        assert session.exec(select(AlertReminder)).all() == []


def test_a_rule_repeat_wins_and_a_mute_silences_reminders(
    api: Api,
    webhook_receiver: Receiver,
    outage: Callable[..., Any],
    postman: Postman,
    scheduler: RecordingScheduler,
    clock: Clock,
) -> None:
    hook(api, webhook_receiver, repeat_every="1h")
    hook(api, webhook_receiver, name="quiet-hook")
    rules = [{"targets": ["ops-hook", "quiet-hook"], "repeat_every": "10m"}]
    policy = api.create("routing-policies", {"name": "default", "rules": rules})
    assert policy["rules"][0]["repeat_every"] == "10m"
    service = outage("nightly-backup")
    postman.deliver()
    clock.advance(minutes=11)
    pass_and_deliver(scheduler, postman)
    paths = [r.path for r in webhook_receiver.requests if r.json["event"] == "alert.repeated"]
    assert sorted(paths) == ["/ops-hook", "/quiet-hook"]

    api.call("POST", f"/v2/services/{service['service_id']}/mute", 200, json={"duration": "2h"})
    clock.advance(minutes=30)
    pass_and_deliver(scheduler, postman)
    assert events(webhook_receiver).count("alert.repeated") == 2


def test_only_targets_that_repeat_are_reminded(
    api: Api,
    webhook_receiver: Receiver,
    outage: Callable[..., Any],
    postman: Postman,
    scheduler: RecordingScheduler,
    clock: Clock,
) -> None:
    hook(api, webhook_receiver)
    api.create("routing-policies", {"name": "default", "rules": [{"targets": ["ops-hook"]}]})
    outage("nightly-backup")
    postman.deliver()
    clock.advance(hours=5)
    pass_and_deliver(scheduler, postman)
    assert events(webhook_receiver) == ["alert.opened"]


def test_a_reminder_is_claimed_by_one_scheduler_only(
    api: Api,
    webhook_receiver: Receiver,
    outage: Callable[..., Any],
    postman: Postman,
    scheduler: RecordingScheduler,
    clock: Clock,
    medic: MedicProcess,
) -> None:
    hook(api, webhook_receiver, repeat_every="5m")
    api.create("routing-policies", {"name": "default", "rules": [{"targets": ["ops-hook"]}]})
    outage("nightly-backup")
    postman.deliver()
    with medic.db.session() as session:
        read_by_both = session.exec(select(AlertReminder)).one()
    clock.advance(minutes=6)
    other = RecordingScheduler(medic.db, medic.settings)
    other.run_pass()
    scheduler.run_pass()
    assert len(other.sent) + len(scheduler.sent) == 2  # the opening, and one reminder
    with medic.db.session() as session:
        # A scheduler that read the row before the other claimed it loses the claim.
        assert not _claim(session, read_by_both, datetime.now(UTC), sent=True)
        assert session.exec(select(AlertReminder)).one().sent_count == 1


def test_repeat_every_is_checked_where_it_is_written(api: Api, webhook_receiver: Receiver) -> None:
    pager = {"name": "pd", "kind": "pagerduty", "config": {}, "repeat_every": "30m"}
    assert "repeat_every" in api.create("notification-targets", pager, expect=400)
    bad = {"name": "h", "kind": "webhook", "config": {"url": "https://example.com/h"}}
    assert "repeat_every" in api.create("notification-targets", {**bad, "repeat_every": "20s"}, 400)
    assert "repeat_every" in api.create(
        "notification-targets", {**bad, "repeat_every": "soon"}, 400
    )
    hook(api, webhook_receiver)
    assert (
        api.patch("notification-targets/ops-hook", {"repeat_every": "45m"})["repeat_every"] == "45m"
    )
    assert (
        api.patch("notification-targets/ops-hook", {"repeat_every": None})["repeat_every"] is None
    )
    rules = [{"targets": ["ops-hook"], "repeat_every": "never"}]
    assert "repeat_every" in api.create("routing-policies", {"name": "p", "rules": rules}, 400)
