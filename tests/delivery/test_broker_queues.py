"""Work due now goes straight onto its queue; only a real delay waits in the delay queue.

Dramatiq routes a message sent with any delay, even 0, through `<queue>.DQ`, where a
worker must fetch it and enqueue it again before another fetch runs it: one more hop,
and one more poll, between a planned delivery and the Slack message.
"""

from __future__ import annotations

from collections.abc import Callable

from dramatiq.brokers.stub import StubBroker

from medic.actors import declare_actors
from medic.config import Settings
from medic.process import MedicProcess

NAMESPACE = "hops"


def _queued(broker: StubBroker) -> dict[str, int]:
    return {name: queue.qsize() for name, queue in broker.queues.items() if queue.qsize()}


def test_a_delivery_and_an_execution_due_now_skip_the_delay_queue(
    medic: MedicProcess, make_settings: Callable[..., Settings]
) -> None:
    broker = StubBroker()
    actors = declare_actors(broker, medic.db, make_settings(), NAMESPACE, senders={})
    actors.send_delivery(7)
    actors.send_delivery(8, 0)
    actors.send_execution(9)
    assert _queued(broker) == {f"{NAMESPACE}.deliver": 2, f"{NAMESPACE}.playbooks": 1}
    broker.close()


def test_a_retry_waits_in_the_delay_queue(
    medic: MedicProcess, make_settings: Callable[..., Settings]
) -> None:
    broker = StubBroker()
    actors = declare_actors(broker, medic.db, make_settings(), NAMESPACE, senders={})
    actors.send_delivery(7, 5)
    actors.send_execution(9, 30)
    assert _queued(broker) == {f"{NAMESPACE}.deliver.DQ": 1, f"{NAMESPACE}.playbooks.DQ": 1}
    broker.close()
