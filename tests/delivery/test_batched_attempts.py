"""A deliver message carries up to 25 deliveries, all to one target
(medic.notify.attempts.attempt_deliveries): claimed in one transaction, sent one after
another, recorded in one. What a burst costs falls; what each delivery gets does not:
one send each, a lease that covers the sends before it, and no bad row holding back
the others."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import event
from sqlmodel import col, select, update

from medic.actors import DELIVERIES_PER_MESSAGE, declare_actors
from medic.config import Settings
from medic.models import Delivery, DeliveryAttempt, Notification
from medic.notify.attempts import attempt_deliveries
from medic.notify.message import Message, Outcome, Sender, Target
from medic.notify.planning import Due, plan_notifications
from medic.notify.senders import make_senders
from medic.process import MedicProcess
from tests.delivery.test_batch_planning import chat_for_everyone, deliveries
from tests.fakes.receiver import Receiver
from tests.support import RecordingScheduler

__all__ = ["chat_for_everyone"]

NAMESPACE = "batches"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"medic_allowed_webhook_hosts": "127.0.0.1"}


@pytest.fixture
def burst(
    chat_for_everyone: None,
    outage: Callable[..., Any],
    medic: MedicProcess,
    scheduler: RecordingScheduler,
) -> list[int]:
    """Four services down at once, their openings planned: four deliveries to `chat`."""
    for name in ("backup", "billing", "search", "payments"):
        outage(name)
    due = plan_notifications(medic.db, medic.settings, scheduler.sent, datetime.now(UTC))
    assert {target for _, target in due} == {"chat"}
    return sorted(delivery_id for delivery_id, _ in due)


def deliver_queue(broker: StubBroker) -> list[list[int]]:
    """The delivery ids of each message waiting on the deliver queue."""
    queue = broker.queues[f"{NAMESPACE}.deliver"]
    return [json.loads(message)["args"][0] for message in list(queue.queue)]


def test_a_burst_goes_out_as_a_message_per_target_of_at_most_25(
    medic: MedicProcess, make_settings: Callable[..., Settings]
) -> None:
    broker = StubBroker()
    actors = declare_actors(broker, medic.db, make_settings(), NAMESPACE, senders={})
    chat = [Due(delivery_id, "chat") for delivery_id in range(1, 31)]
    actors.send_deliveries([*chat[:10], Due(100, "pager"), *chat[10:]])
    assert deliver_queue(broker) == [list(range(1, 26)), list(range(26, 31)), [100]]
    assert DELIVERIES_PER_MESSAGE == 25
    broker.close()


def test_a_burst_is_claimed_in_one_transaction_and_recorded_in_one(
    burst: list[int], medic: MedicProcess, webhook_receiver: Receiver
) -> None:
    statements: list[str] = []
    commits: list[object] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()).upper())

    def committed(_conn: Any) -> None:
        commits.append(_conn)

    event.listen(medic.db.engine, "before_cursor_execute", seen)
    event.listen(medic.db.engine, "commit", committed)
    try:
        followups = attempt_deliveries(
            medic.db, make_senders(medic.settings), medic.settings, burst
        )
    finally:
        event.remove(medic.db.engine, "before_cursor_execute", seen)
        event.remove(medic.db.engine, "commit", committed)

    assert [f.delivery_id for f in followups] == burst
    assert all(f.retry_in_seconds is None and not f.send_now for f in followups)
    assert len(webhook_receiver.requests) == 4
    assert len(commits) == 2  # the claim and the record, each once for all four
    reads = [s for s in statements if s.startswith("SELECT") and "FROM DELIVERIES" in s]
    assert len(reads) == 2, reads
    assert len([s for s in statements if "FROM TEAMS" in s]) == 1  # one team, read once
    assert len([s for s in statements if "FROM PLAYBOOKS" in s]) == 1
    assert [(d.status, d.attempts) for d in deliveries(medic)] == [("sent", 1)] * 4


class Witness:
    """A sender that, at each send, reads the batch's rows as another worker would see
    them, and asks for the same deliveries again, as a duplicate message would."""

    def __init__(self, medic: MedicProcess, ids: list[int]) -> None:
        self.medic = medic
        self.ids = ids
        self.leases: list[dict[int, datetime]] = []
        self.again: list[list[int]] = []

    def send(self, target: Target, message: Message) -> Outcome:
        with self.medic.db.session() as session:
            rows = session.exec(
                select(Delivery.delivery_id, Delivery.next_attempt_at).where(
                    col(Delivery.delivery_id).in_(self.ids)
                )
            ).all()
        self.leases.append({delivery_id: at for delivery_id, at in rows})
        senders: dict[str, Sender] = {"webhook": self}
        duplicate = attempt_deliveries(self.medic.db, senders, self.medic.settings, self.ids)
        self.again.append([f.delivery_id for f in duplicate])
        return Outcome.sent(200)


def test_each_delivery_is_leased_past_the_sends_before_it_and_a_duplicate_sends_nothing(
    burst: list[int], medic: MedicProcess
) -> None:
    witness = Witness(medic, burst)
    started = datetime.now(UTC)
    followups = attempt_deliveries(medic.db, {"webhook": witness}, medic.settings, burst)

    assert [f.delivery_id for f in followups] == burst
    assert witness.again == [[], [], [], []]  # the duplicate claimed nothing, sent nothing
    per_send = medic.settings.medic_notify_timeout_seconds * 3
    leases = witness.leases[0]
    for position, delivery_id in enumerate(burst):
        least = started + timedelta(seconds=per_send * (position + 1) + 30)
        assert least <= leases[delivery_id] <= least + timedelta(seconds=5)
    with medic.db.session() as session:
        attempts = session.exec(select(DeliveryAttempt.delivery_id)).all()
    assert sorted(attempts) == burst


def test_a_delivery_that_cannot_be_read_holds_back_no_other_in_its_message(
    burst: list[int], medic: MedicProcess, make_settings: Callable[..., Settings]
) -> None:
    """A notification whose frozen facts (its service deleted since) no longer read,
    an instant that is not one, fails the batch's claim; the worker hands each delivery
    a message of its own, and the others are sent."""
    bad = burst[1]
    with medic.db.session() as session:
        delivery = session.get(Delivery, bad)
        assert delivery is not None
        session.exec(
            update(Notification)
            .where(col(Notification.notification_id) == delivery.notification_id)
            .values(service_id=None, details={"frozen": {"service": {"state_changed_at": "never"}}})
        )
    broker = StubBroker()
    settings = make_settings(medic_allowed_webhook_hosts="127.0.0.1")
    actors = declare_actors(broker, medic.db, settings, NAMESPACE)

    actors.deliver.fn(burst)
    assert deliver_queue(broker) == [[delivery_id] for delivery_id in burst]
    for delivery_id in burst:
        if delivery_id == bad:
            with pytest.raises(ValueError):
                actors.deliver.fn([delivery_id])
        else:
            actors.deliver.fn([delivery_id])
    broker.close()

    statuses = {d.delivery_id: (d.status, d.attempts) for d in deliveries(medic)}
    assert statuses == {
        delivery_id: ("pending", 0) if delivery_id == bad else ("sent", 1) for delivery_id in burst
    }


def test_a_message_from_before_batches_still_delivers(
    burst: list[int], medic: MedicProcess, make_settings: Callable[..., Settings]
) -> None:
    broker = StubBroker()
    settings = make_settings(medic_allowed_webhook_hosts="127.0.0.1")
    actors = declare_actors(broker, medic.db, settings, NAMESPACE)
    actors.deliver.fn(burst[0])
    broker.close()
    assert [d.status for d in deliveries(medic)] == ["sent", "pending", "pending", "pending"]
