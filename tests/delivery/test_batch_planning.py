"""A notify message carries up to 50 notifications, and the worker plans them in one
transaction (medic.notify.planning.plan_notifications): the result is what planning
them one at a time gives, each exactly once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import col, select

from medic.models import Delivery
from medic.notify.planning import plan_notifications
from medic.process import MedicProcess
from tests.fakes.receiver import Receiver
from tests.support import RecordingScheduler


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"medic_allowed_webhook_hosts": "127.0.0.1"}


@pytest.fixture
def chat_for_everyone(
    client: Any, admin_headers: dict[str, str], webhook_receiver: Receiver
) -> None:
    """A webhook target `chat`, and a `default` policy that sends everything there."""
    for resource, body in (
        (
            "notification-targets",
            {"name": "chat", "kind": "webhook", "config": {"url": f"{webhook_receiver.url}/c"}},
        ),
        ("routing-policies", {"name": "default", "rules": [{"targets": ["chat"]}]}),
    ):
        response = client.post(f"/v2/{resource}", json=body, headers=admin_headers)
        assert response.status_code == 201, response.text


def deliveries(medic: MedicProcess) -> list[Delivery]:
    with medic.db.session() as session:
        return list(session.exec(select(Delivery).order_by(col(Delivery.delivery_id))).all())


def test_one_message_plans_each_of_its_notifications_once(
    chat_for_everyone: None,
    outage: Callable[..., Any],
    medic: MedicProcess,
    scheduler: RecordingScheduler,
) -> None:
    for name in ("backup", "billing", "search"):
        outage(name)
    # The scheduler sends a notification again until it is planned: ids repeat.
    ids = sorted(set(scheduler.sent))
    assert len(ids) == 3

    to_send = plan_notifications(medic.db, medic.settings, scheduler.sent, datetime.now(UTC))

    planned = deliveries(medic)
    assert sorted(d.notification_id for d in planned) == sorted(ids)
    assert {(d.kind, d.target_name, d.status) for d in planned} == {
        ("alert.opened", "chat", "pending")
    }
    assert sorted(to_send) == [(d.delivery_id, d.target_name) for d in planned]
    # The message again (a redelivery, a second worker): nothing new, nothing to send.
    assert plan_notifications(medic.db, medic.settings, ids, datetime.now(UTC)) == []
    assert len(deliveries(medic)) == 3


def test_an_opening_and_its_recovery_in_one_message_route_as_one_at_a_time(
    chat_for_everyone: None,
    outage: Callable[..., Any],
    medic: MedicProcess,
    scheduler: RecordingScheduler,
) -> None:
    """A recovery goes to the targets told of the alert; planned in the same
    transaction as the opening, the opening is planned but not yet sent, so the
    recovery goes nowhere, exactly as when the two are planned one after the other."""
    outage("backup")
    outage.recover("backup")  # type: ignore[attr-defined]

    plan_notifications(medic.db, medic.settings, list(scheduler.sent), datetime.now(UTC))

    assert [(d.kind, d.target_name) for d in deliveries(medic)] == [("alert.opened", "chat")]


def test_a_burst_reads_its_routing_policy_and_targets_once(
    chat_for_everyone: None,
    outage: Callable[..., Any],
    medic: MedicProcess,
    scheduler: RecordingScheduler,
) -> None:
    """Alerts routed by one policy share its plan: a message of many costs the policy's
    and its targets' reads once, not once per alert (and once more for its reminders)."""
    for name in ("backup", "billing", "search", "payments"):
        outage(name)
    tables: list[str] = []

    def read(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        for table in ("routing_policies", "notification_targets"):
            if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement:
                tables.append(table)

    event.listen(medic.db.engine, "before_cursor_execute", read)
    try:
        plan_notifications(medic.db, medic.settings, list(scheduler.sent), datetime.now(UTC))
    finally:
        event.remove(medic.db.engine, "before_cursor_execute", read)

    assert len(deliveries(medic)) == 4
    assert tables.count("routing_policies") == 1
    # The targets by name, and their repeat_every for the reminders of each opening.
    assert tables.count("notification_targets") == 1 + 4
