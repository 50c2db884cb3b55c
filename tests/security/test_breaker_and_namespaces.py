"""The circuit breaker and shared rate-limit counters, attacked (issue 14, findings 10
and 13), on SQLite and PostgreSQL:

* 12 starts at once, with a limit of 3 an hour, run exactly 3;
* two deployments on one Redis never share rate-limit counters; replicas of one
  deployment always do.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlmodel import func, select

from medic.config import Settings
from medic.migrate import upgrade
from medic.models import Execution
from medic.ops import executions
from medic.ops.actor import cli_operator
from medic.ops.errors import Conflict
from medic.process import MedicProcess
from medic.ratelimit import HEARTBEATS, rate_limit_namespace
from tests.conftest import REDIS_URL
from tests.executions.conftest import SECRETS_KEY
from tests.fakes.receiver import Receiver

STARTS = 12
LIMIT = 3


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "medic_allowed_webhook_hosts": "127.0.0.1",
        "medic_secrets_key": SECRETS_KEY,
        "medic_playbook_max_executions_per_hour": LIMIT,
    }


def test_circuit_breaker_holds_under_concurrent_starts(
    medic: MedicProcess,
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    webhook_receiver: Receiver,
) -> None:
    register("worker-1")
    apply_playbook(
        "name: restart-worker\napproval: required\nsteps:\n"
        f"  - {{name: restart, type: webhook, url: '{webhook_receiver.url}/restart'}}\n"
    )
    start_together = threading.Barrier(STARTS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def start() -> None:
        command = executions.ExecutePlaybook.of(playbook="restart-worker", service="worker-1")
        start_together.wait()
        try:
            executions.execute_playbook(medic.context(cli_operator()), command)
            outcome = "started"
        except Conflict as refused:
            assert "circuit breaker" in refused.message
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=start) for _ in range(STARTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["refused"] * (STARTS - LIMIT) + ["started"] * LIMIT
    with medic.db.session() as session:
        assert session.exec(select(func.count()).select_from(Execution)).one() == LIMIT


# --- rate-limit namespaces ------------------------------------------------------------


@pytest.fixture
def other_database(tmp_path: Path) -> str:
    """Another deployment's database."""
    url = f"sqlite:///{tmp_path / 'other-deployment.db'}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def on_redis(make_settings: Callable[..., Settings], namespace: str, **values: Any) -> Settings:
    return make_settings(
        medic_rate_limiter_type="redis",
        redis_url=REDIS_URL,
        medic_broker_namespace=namespace,
        **values,
    )


async def heartbeats(medic: MedicProcess, count: int) -> list[bool]:
    """`count` heartbeats by key 1 against a limit of 2 a minute: allowed or not."""
    return [(await medic.limiter.hit(HEARTBEATS, "key:1", 2)).allowed for _ in range(count)]


def test_two_deployments_on_one_redis_do_not_share_rate_limits(
    make_settings: Callable[..., Settings], redis_namespace: str, other_database: str
) -> None:
    """Same Redis, same broker namespace (the default), same key id in each database:
    each deployment still counts only its own requests."""
    ours = MedicProcess(on_redis(make_settings, redis_namespace))
    theirs = MedicProcess(on_redis(make_settings, redis_namespace, database_url=other_database))
    try:
        assert ours.limiter.backend == theirs.limiter.backend == "redis"
        assert ours.limiter.namespace != theirs.limiter.namespace

        assert asyncio.run(heartbeats(theirs, 3)) == [True, True, False]
        assert asyncio.run(heartbeats(ours, 3)) == [True, True, False]
    finally:
        ours.db.dispose()
        theirs.db.dispose()


def test_replicas_of_one_deployment_share_rate_limits(
    make_settings: Callable[..., Settings], redis_namespace: str
) -> None:
    settings = on_redis(make_settings, redis_namespace)
    replica_a, replica_b = MedicProcess(settings), MedicProcess(settings)
    try:
        assert asyncio.run(heartbeats(replica_a, 2)) == [True, True]
        assert asyncio.run(heartbeats(replica_b, 1)) == [False]
    finally:
        replica_a.db.dispose()
        replica_b.db.dispose()


def test_the_rate_limit_namespace_names_the_deployment_not_its_credentials(
    make_settings: Callable[..., Settings],
) -> None:
    base = make_settings(database_url="postgresql://medic:one@db.internal:5432/medic")
    assert rate_limit_namespace(base).startswith("medic-")
    same_database = make_settings(database_url="postgres://other:two@db.internal:5432/medic")
    assert rate_limit_namespace(same_database) == rate_limit_namespace(base)
    for other in (
        make_settings(database_url="postgresql://medic:one@db.internal:5432/medic_staging"),
        make_settings(database_url="postgresql://medic:one@db2.internal:5432/medic"),
        make_settings(
            database_url="postgresql://medic:one@db.internal:5432/medic",
            medic_broker_namespace="staging",
        ),
    ):
        assert rate_limit_namespace(other) != rate_limit_namespace(base)
    explicit = make_settings(medic_rate_limit_namespace="payments-prod")
    assert rate_limit_namespace(explicit) == "payments-prod"
