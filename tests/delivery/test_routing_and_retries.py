"""Deliveries: routing picks the targets, failures are retried at 1 s, 5 s and 30 s,
every attempt is stored, `first_success` stops at the first target that accepts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medic.notify.attempts import RETRY_DELAYS_SECONDS
from tests.fakes.receiver import Receiver
from tests.postman import Postman
from tests.support import Clock


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"medic_allowed_webhook_hosts": "127.0.0.1"}


@pytest.fixture
def routing(
    client: TestClient, admin_headers: dict[str, str]
) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """POST a routing resource (`notification-targets`, `routing-policies`, `working-hours`)."""

    def create(resource: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(f"/v2/{resource}", json=body, headers=admin_headers)
        assert response.status_code == 201, response.text
        return response.json()["results"]

    return create


def webhook(routing: Callable[..., Any], name: str, receiver: Receiver, path: str) -> None:
    routing(
        "notification-targets",
        {"name": name, "kind": "webhook", "config": {"url": f"{receiver.url}{path}"}},
    )


def test_webhook_answering_500_is_retried_three_times_at_the_documented_delays_then_failed(
    routing: Callable[..., Any],
    webhook_receiver: Receiver,
    outage: Callable[..., Any],
    postman: Postman,
    clock: Clock,
) -> None:
    webhook(routing, "ops-hook", webhook_receiver, "/hook")
    routing("routing-policies", {"name": "default", "rules": [{"targets": ["ops-hook"]}]})
    webhook_receiver.answer(500)
    outage("nightly-backup")

    postman.deliver()
    for delay in RETRY_DELAYS_SECONDS:
        (delivery,) = postman.deliveries()
        assert delivery.status == "pending"
        attempts = postman.attempts(delivery.delivery_id)
        assert delivery.next_attempt_at == attempts[-1].attempted_at + timedelta(seconds=delay)
        clock.advance(seconds=delay - 0.5)
        postman.deliver()
        assert len(postman.attempts(delivery.delivery_id)) == len(attempts), "retried too early"
        clock.advance(seconds=0.5)
        postman.deliver()

    (delivery,) = postman.deliveries()
    assert delivery.status == "failed" and delivery.finished_at is not None
    attempts = postman.attempts(delivery.delivery_id)
    assert [(a.attempt, a.status_code, a.succeeded) for a in attempts] == [
        (1, 500, False),
        (2, 500, False),
        (3, 500, False),
        (4, 500, False),
    ]
    assert all("HTTP 500" in (a.error or "") for a in attempts)
    assert len(webhook_receiver.requests) == 4
    assert [f.retry_in_seconds for f in postman.followups] == [1, 5, 30, None]


def test_first_success_stops_at_the_first_target_that_accepts(
    routing: Callable[..., Any],
    webhook_receiver: Receiver,
    outage: Callable[..., Any],
    postman: Postman,
) -> None:
    for name in ("gone", "primary", "backup"):
        webhook(routing, name, webhook_receiver, f"/{name}")
    webhook_receiver.answer(404, path="/gone")
    routing(
        "routing-policies",
        {
            "name": "default",
            "mode": "first_success",
            "rules": [{"targets": ["gone", "primary", "backup"]}],
        },
    )
    outage("nightly-backup")
    postman.deliver()

    assert [(d.target_name, d.status) for d in postman.deliveries()] == [
        ("gone", "failed"),
        ("primary", "sent"),
        ("backup", "skipped"),
    ]
    assert [r.path for r in webhook_receiver.requests] == ["/gone", "/primary"]


def test_notify_all_sends_to_every_target_and_recovery_to_those_told(
    routing: Callable[..., Any],
    webhook_receiver: Receiver,
    outage: Callable[..., Any],
    postman: Postman,
) -> None:
    for name in ("chat", "ticketing"):
        webhook(routing, name, webhook_receiver, f"/{name}")
    routing("routing-policies", {"name": "default", "rules": [{"targets": ["chat", "ticketing"]}]})
    outage("nightly-backup")
    postman.deliver()
    # The policy changes while the service is down: the recovery still reaches both.
    routing(
        "notification-targets",
        {"name": "new", "kind": "webhook", "config": {"url": f"{webhook_receiver.url}/new"}},
    )
    outage.recover("nightly-backup")  # type: ignore[attr-defined]
    postman.deliver()

    events = [(r.path, r.json["event"]) for r in webhook_receiver.requests]
    assert sorted(events) == [
        ("/chat", "alert.opened"),
        ("/chat", "alert.resolved"),
        ("/ticketing", "alert.opened"),
        ("/ticketing", "alert.resolved"),
    ]


def test_priority_conditions_choose_the_targets(
    routing: Callable[..., Any],
    webhook_receiver: Receiver,
    outage: Callable[..., Any],
    postman: Postman,
) -> None:
    for name in ("pager", "chat"):
        webhook(routing, name, webhook_receiver, f"/{name}")
    routing(
        "routing-policies",
        {
            "name": "default",
            "rules": [
                {"targets": ["pager"], "priorities": ["p1", "p2"]},
                {"targets": ["chat"]},
            ],
        },
    )
    outage("critical-job", priority="p1")
    outage("minor-job", priority="p4")
    postman.deliver()

    sent = sorted((r.json["service"]["heartbeat_name"], r.path) for r in webhook_receiver.requests)
    assert sent == [("critical-job", "/chat"), ("critical-job", "/pager"), ("minor-job", "/chat")]


@pytest.mark.parametrize(
    ("local_time", "expected"),
    [
        # New York, the day after DST began (EDT, UTC-4) and after it ended (EST, UTC-5).
        ("2027-03-15T10:00:00-04:00", "/business"),
        ("2027-03-15T23:00:00-04:00", "/after-hours"),
        ("2026-11-02T10:00:00-05:00", "/business"),
        ("2026-11-02T23:00:00-05:00", "/after-hours"),
    ],
)
def test_working_hours_route_to_business_or_after_hours_targets_across_dst(
    routing: Callable[..., Any],
    webhook_receiver: Receiver,
    outage: Callable[..., Any],
    postman: Postman,
    clock: Clock,
    local_time: str,
    expected: str,
) -> None:
    routing(
        "working-hours",
        {
            "name": "business",
            "timezone": "America/New_York",
            "days": ["mon-fri"],
            "start": "09:00",
            "end": "18:00",
        },
    )
    for name in ("business", "after-hours"):
        webhook(routing, name, webhook_receiver, f"/{name}")
    routing(
        "routing-policies",
        {
            "name": "default",
            "rules": [
                {"targets": ["business"], "hours": "during", "working_hours": "business"},
                {"targets": ["after-hours"], "hours": "after", "working_hours": "business"},
            ],
        },
    )
    clock.travel_to(local_time)
    clock.advance(seconds=-61)
    outage("nightly-backup")
    postman.deliver()

    assert [r.path for r in webhook_receiver.requests] == [expected]


def test_no_routing_and_no_slack_or_pagerduty_records_the_notification_only(
    outage: Callable[..., Any], postman: Postman, client: TestClient, read_headers: dict[str, str]
) -> None:
    outage("nightly-backup")
    postman.deliver()
    assert postman.deliveries() == []
    (notification,) = client.get("/v2/notifications", headers=read_headers).json()["results"][
        "items"
    ]
    assert notification["kind"] == "alert.opened"
    assert notification["routed_at"] is not None and notification["deliveries"] == []


def test_every_attempt_is_visible_through_the_api(
    routing: Callable[..., Any],
    webhook_receiver: Receiver,
    outage: Callable[..., Any],
    postman: Postman,
    clock: Clock,
    client: TestClient,
    read_headers: dict[str, str],
) -> None:
    webhook(routing, "ops-hook", webhook_receiver, "/hook")
    routing("routing-policies", {"name": "default", "rules": [{"targets": ["ops-hook"]}]})
    webhook_receiver.answer_sequence([503])
    outage("nightly-backup")
    postman.deliver()
    clock.advance(seconds=1)
    postman.deliver()

    (notification,) = client.get("/v2/notifications", headers=read_headers).json()["results"][
        "items"
    ]
    (delivery,) = notification["deliveries"]
    assert delivery["target_name"] == "ops-hook" and delivery["status"] == "sent"
    assert [(a["status_code"], a["succeeded"]) for a in delivery["attempts"]] == [
        (503, False),
        (200, True),
    ]
    assert "config" not in delivery and "target_config" not in delivery
