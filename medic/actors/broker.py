"""Which Dramatiq broker a process uses.

REDIS_URL set: Redis (or RabbitMQ when it is an amqp:// URL), shared by every
`medic worker` and `medic scheduler`. Unset: an in-process StubBroker, for the
embedded `medic up`, whose worker threads live in the same process. Nothing is
lost either way: the outbox in the database is the source of truth, the broker
only carries ids (medic.scheduler.outbox).
"""

from __future__ import annotations

from dramatiq import Broker
from dramatiq.brokers.stub import StubBroker

from medic.config import Settings


def broker_kind(settings: Settings) -> str:
    url = settings.redis_url
    if not url:
        return "in-process"
    return "rabbitmq" if url.startswith(("amqp://", "amqps://")) else "redis"


def make_broker(settings: Settings, namespace: str | None = None) -> Broker:
    # Each broker's client (redis, pika) is imported only by a process that uses it.
    kind = broker_kind(settings)
    if kind == "redis":
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(
            url=settings.redis_url, namespace=namespace or settings.medic_broker_namespace
        )
    if kind == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=settings.redis_url)
    return StubBroker()
