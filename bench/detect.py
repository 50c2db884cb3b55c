"""Detection cost and latency with 100,000 registered services on PostgreSQL.

Prints:
  * the scheduler pass time with 0% of the services due, and with 1% due
    (target: < 200 ms with 1% due), each the median of several passes; a pass
    claims, evaluates, commits, and enqueues the notifications on Redis (50 per message);
  * with the scheduler running (its own thread, real Redis broker), the delay
    from each service's deadline to its notify message being enqueued, p50 and
    p99 over 1,000 deadlines spread over ten seconds (target: p99 <= 2 s).

    .venv/bin/python bench/detect.py [--services 100000] [--due-percent 1]

Needs PostgreSQL (MEDIC_TEST_PG_URL, default postgresql://postgres@127.0.0.1:5432/postgres)
and Redis (MEDIC_TEST_REDIS_URL, default redis://127.0.0.1:6379/0). Creates and drops
its own database and Redis namespace.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import redis

from medic.config import load_settings
from medic.db import Database
from medic.migrate import upgrade
from medic.scheduler.loop import Scheduler
from medic.scheduler.wakeup import PostgresListener

PG_ADMIN_URL = os.environ.get("MEDIC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("MEDIC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

INSERT_SERVICES = """
INSERT INTO services (uuid, heartbeat_name, name_key, active, alert_interval, threshold,
    team, priority, muted, down, date_added, date_modified, schedule_type,
    grace_period_seconds, state, next_due_at, deadline_check_at, last_heartbeat_at,
    last_alive_at, consecutive_failures)
SELECT gen_random_uuid()::text, 'svc-' || n, 'svc-' || n, true, 60, 1,
    'team-' || (n %% 20), 'p3', false, false, now(), now(), 'interval',
    0, 'up', now() + interval '1 hour', now() + interval '1 hour', now(), now(), 0
FROM generate_series(1, %(count)s) AS n
"""

RESET = """
DELETE FROM notifications; DELETE FROM service_state_changes; DELETE FROM alerts;
UPDATE services SET state = 'up', down = false, check_at = NULL, consecutive_failures = 0,
    missed_deadline_at = NULL, next_due_at = now() + interval '1 hour',
    deadline_check_at = now() + interval '1 hour'
    WHERE state <> 'up' OR check_at IS NOT NULL OR next_due_at < now() + interval '30 minutes';
"""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--due-percent", type=float, default=1.0)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()

    name = f"medic_bench_{uuid.uuid4().hex[:8]}"
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    libpq = f"{base}/{name}"
    namespace = f"medic-bench-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    settings = load_settings(
        _env_file=None,
        database_url=libpq.replace("postgresql://", "postgresql+psycopg://", 1),
        redis_url=REDIS_URL,
        medic_timezone="UTC",
        worker_interval_seconds=15,
    )
    db = Database(settings)
    try:
        upgrade(db.engine)
        with psycopg.connect(libpq, autocommit=True) as conn:
            started = time.perf_counter()
            conn.execute(INSERT_SERVICES, {"count": args.services})
            conn.execute("VACUUM ANALYZE services")
            print(f"registered {args.services:,} services in {time.perf_counter() - started:.1f} s")
            due = int(args.services * args.due_percent / 100)
            # Passes enqueue on a real Redis broker, as in production (nobody consumes).
            from medic.actors import declare_actors
            from medic.actors.broker import make_broker

            broker = make_broker(settings, namespace)
            actors = declare_actors(broker, db, settings, namespace)
            scheduler = Scheduler(db, settings, actors)
            scheduler.run_pass()  # creates the periodic job rows once

            idle = [scheduler.run_pass().seconds for _ in range(args.passes)]
            print(f"pass with 0% due:    median {statistics.median(idle) * 1000:7.1f} ms")

            busy, sending = [], []
            for _ in range(args.passes):
                conn.execute(RESET)
                conn.execute(
                    "UPDATE services SET next_due_at = now() - interval '1 second', "
                    "deadline_check_at = now() - interval '1 second' "
                    "WHERE service_id IN (SELECT service_id FROM services ORDER BY random() "
                    "LIMIT %(due)s)",
                    {"due": due},
                )
                result = scheduler.run_pass()
                assert result.opened == due, result
                busy.append(result.seconds)
                sending.append(result.send_seconds)
            median_ms = statistics.median(busy) * 1000
            send_ms = statistics.median(sending) * 1000
            print(
                f"pass with {args.due_percent:g}% due:   median {median_ms:7.1f} ms"
                f"  ({due:,} alerts opened per pass; target < 200 ms)\n"
                f"    of which claim, evaluate and commit {median_ms - send_ms:7.1f} ms, "
                f"enqueue {due:,} notifications on Redis {send_ms:7.1f} ms"
            )
            broker.close()
            conn.execute(RESET)
            delays = measure_delays(db, settings, conn, libpq, namespace, deadlines=1000)
            print(
                f"deadline -> notify enqueued: p50 {percentile(delays, 0.5) * 1000:6.0f} ms, "
                f"p99 {percentile(delays, 0.99) * 1000:6.0f} ms, max {max(delays) * 1000:6.0f} ms "
                f"over {len(delays):,} deadlines (target p99 <= 2 s)"
            )
    finally:
        db.dispose()
        client = redis.Redis.from_url(REDIS_URL)
        keys = client.keys(f"{namespace}*")
        if keys:
            client.delete(*keys)
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure_delays(
    db: Database,
    settings: object,
    conn: psycopg.Connection,
    libpq: str,
    namespace: str,
    deadlines: int,
) -> list[float]:
    """Deadlines spread over the next ten seconds; the scheduler runs in its own thread
    and enqueues on a real Redis broker; delay = enqueue time - deadline."""
    from medic.actors import declare_actors
    from medic.actors.broker import make_broker

    broker = make_broker(settings, namespace)  # type: ignore[arg-type]
    actors = declare_actors(broker, db, settings, namespace)  # type: ignore[arg-type]
    enqueued: dict[int, float] = {}
    lock = threading.Lock()

    class Timed:
        """The actors, noting when each notification was enqueued."""

        def send_notifications(self, notification_ids: list[int]) -> None:
            actors.send_notifications(notification_ids)
            with lock:
                for notification_id in notification_ids:
                    enqueued.setdefault(notification_id, time.time())

        def __getattr__(self, name: str) -> object:
            return getattr(actors, name)

    scheduler = Scheduler(db, settings, Timed())  # type: ignore[arg-type]
    listener = PostgresListener(libpq, db.wakeup)
    listener.start()
    scheduler.start()
    try:
        time.sleep(1.0)
        start = datetime.now(UTC) + timedelta(seconds=1)
        conn.execute(
            "UPDATE services s SET next_due_at = due.at, deadline_check_at = due.at "
            "FROM (SELECT service_id, %(start)s + random() * interval '10 seconds' AS at "
            "FROM (SELECT service_id FROM services ORDER BY random() LIMIT %(count)s) AS n"
            ") AS due WHERE s.service_id = due.service_id",
            {"start": start, "count": deadlines},
        )
        conn.execute("SELECT pg_notify('medic_scheduler', '')")
        until = time.time() + 30
        while time.time() < until:
            with lock:
                if len(enqueued) >= deadlines:
                    break
            time.sleep(0.2)
    finally:
        scheduler.stop()
        listener.stop()
        broker.close()
    rows = conn.execute(
        "SELECT n.notification_id, extract(epoch FROM s.next_due_at) FROM notifications n "
        "JOIN services s USING (service_id) WHERE n.kind = 'alert.opened'"
    ).fetchall()
    return [enqueued[nid] - float(due) for nid, due in rows if nid in enqueued]


if __name__ == "__main__":
    main()
