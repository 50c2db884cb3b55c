"""Dashboard page times with 10,000 services (paged): p50 and p99 per page, target
p99 < 300 ms, measured in process (the app under Starlette's TestClient, so the time is
the server's: routing, session lookup, operations, queries, rendering).

    .venv/bin/python bench/dashboard.py [--services 10000] [--requests 50] [--backend both]

PostgreSQL from MEDIC_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
creates and drops its own database. SQLite in a temporary file.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert

from medic.app import create_app
from medic.config import load_settings
from medic.migrate import upgrade
from medic.models import Alert, HeartbeatEvent, JobRun, Service, StateChange
from medic.models.columns import new_badge_token
from medic.ops import (
    executions,
    keys,
    maintenance,
    playbooks,
    routing_policies,
    targets,
    teams,
)
from medic.ops.actor import cli_operator
from medic.process import MedicProcess

PG_ADMIN_URL = os.environ.get("MEDIC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TARGET_MS = 300.0


@contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
        return
    name = f"medic_bench_dashboard_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fill(medic: MedicProcess, count: int) -> int:
    """`count` services across 20 teams, a tenth of them down and a tenth late; the first
    one with 100 heartbeats, 100 runs and 20 state changes. Returns its id."""
    now = datetime.now(UTC)
    rows = []
    for n in range(count):
        state = "down" if n % 10 == 1 else "up"
        due = now - timedelta(seconds=30) if n % 10 == 2 else now + timedelta(minutes=n % 60 + 1)
        rows.append(
            {
                "uuid": str(uuid.uuid4()),
                "badge_token": new_badge_token(),
                "heartbeat_name": f"service-{n:05d}",
                "name_key": f"service-{n:05d}",
                "service_name": f"Service {n}",
                "alert_interval": 60,
                "team": f"team-{n % 20:02d}",
                "state": state,
                "next_due_at": due,
                "deadline_check_at": due,
                "last_heartbeat_at": now - timedelta(minutes=n % 50),
                "date_added": now,
                "date_modified": now,
            }
        )
    with medic.db.engine.begin() as connection:
        connection.execute(insert(Service), rows)
        first = connection.execute(Service.__table__.select().limit(1)).first()
        assert first is not None
        service_id = first.service_id
        connection.execute(
            insert(HeartbeatEvent),
            [
                {
                    "service_id": service_id,
                    "time": now - timedelta(minutes=i),
                    "status": "COMPLETED",
                    "message": f"job output line {i}\n" * 3,
                }
                for i in range(100)
            ],
        )
        connection.execute(
            insert(JobRun),
            [
                {
                    "service_id": service_id,
                    "run_id": f"run-{i}",
                    "started_at": now - timedelta(minutes=i, seconds=40),
                    "finished_at": now - timedelta(minutes=i),
                    "outcome": "completed" if i % 7 else "failed",
                }
                for i in range(100)
            ],
        )
        connection.execute(
            insert(StateChange),
            [
                {
                    "service_id": service_id,
                    "at": now - timedelta(hours=i),
                    "from_state": "up" if i % 2 else "down",
                    "to_state": "down" if i % 2 else "up",
                    "reason": "no heartbeat since …" if i % 2 else "heartbeat received",
                }
                for i in range(20)
            ],
        )
    return int(service_id)


def remediation(medic: MedicProcess, service_id: int) -> int:
    """A playbook in two versions and an execution of it waiting for approval; its id."""
    context = medic.context(cli_operator("bench-writer"))
    source = (
        "name: restart\napproval: required\nsteps:\n"
        "  - name: restart\n    type: webhook\n    url: https://heal.example/restart\n"
    )
    playbooks.apply_playbook(context, playbooks.ApplyPlaybook.of(source_yaml=source))
    changed = source.replace("/restart\n", "/restart-now\n")
    playbooks.apply_playbook(context, playbooks.ApplyPlaybook.of(source_yaml=changed))
    command = executions.ExecutePlaybook.of(playbook="restart", service=service_id)
    return executions.execute_playbook(context, command).execution_id


def fill_admin(medic: MedicProcess) -> None:
    """An open alert per down service and three closed ones per down service before it,
    a Team row per team, a recurring maintenance window per team, two targets routed by
    a `default` policy, and 20 API keys."""
    now = datetime.now(UTC)
    with medic.db.engine.begin() as connection:
        down = connection.execute(
            Service.__table__.select().where(Service.__table__.c.state == "down")
        ).all()
        alerts = [
            {"service_id": row.service_id, "active": cycle == 3, "alert_cycle": cycle + 1}
            | {"created_date": now - timedelta(days=3 - cycle, minutes=row.service_id % 600)}
            | {"closed_date": None if cycle == 3 else now - timedelta(days=3 - cycle)}
            for row in down
            for cycle in range(4)
        ]
        connection.execute(insert(Alert), alerts)
    operator = medic.context(cli_operator())
    for n in range(20):
        teams.create_team(operator, teams.CreateTeam.of(name=f"team-{n:02d}"))
        window = maintenance.CreateWindow.of(
            name=f"patching team-{n:02d}", cron_expression=f"{n} 2 * * 6", duration="1h"
        )
        maintenance.create_window(operator, window)
        keys.create_key(operator, keys.CreateKey.of(name=f"key-{n}", scopes=["read"]))
    for name in ("chat", "pager"):
        config = {"url": f"https://hooks.example.com/{name}"}
        targets.create_target(
            operator, targets.CreateTarget.of(name=name, kind="webhook", config=config)
        )
    rules = [{"targets": ["pager"], "priorities": ["p1"]}, {"targets": ["chat"]}]
    policy = routing_policies.CreatePolicy.of(name="default", rules=rules)
    routing_policies.create_policy(operator, policy)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def bench(backend: str, services: int, requests: int) -> bool:
    with database(backend) as url:
        settings = load_settings(
            _env_file=None,
            database_url=url,
            redis_url=None,
            medic_rate_limiter_type="memory",
            medic_rate_limit_management=1_000_000,
        )
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        medic = MedicProcess(settings)
        service_id = fill(medic, services)
        execution_id = remediation(medic, service_id)
        fill_admin(medic)
        key = keys.create_key(
            medic.context(cli_operator()), keys.CreateKey.of(name="bench", scopes=["admin"])
        ).key
        pages = {
            "services": "/dashboard/services",
            "services last page": f"/dashboard/services?offset={services - 100}",
            "services late": "/dashboard/services?health=late",
            "services team": "/dashboard/services?team=team-07",
            "services search": "/dashboard/services?search=service-0999",
            "service detail": f"/dashboard/services/{service_id}",
            "register form": "/dashboard/services/new",
            "playbooks": "/dashboard/playbooks",
            "playbook": "/dashboard/playbooks/restart",
            "playbook diff": "/dashboard/playbooks/restart/versions/2",
            "executions": "/dashboard/executions",
            "execution": f"/dashboard/executions/{execution_id}",
            "audit log": "/dashboard/audit",
            "alerts": "/dashboard/alerts",
            "alerts open, team": "/dashboard/alerts?active=open&team=team-01",
            "alerts last page": "/dashboard/alerts?offset=3950",
            "maintenance": "/dashboard/maintenance",
            "teams": "/dashboard/teams",
            "team": "/dashboard/teams/team-07",
            "routing preview": "/dashboard/routing?service=service-00001",
            "api keys": "/dashboard/keys",
        }
        ok = True
        with TestClient(create_app(medic=medic)) as client:
            page = client.get("/dashboard/sign-in")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token is not None
            signed = client.post(
                "/dashboard/sign-in",
                data={"api_key": key, "csrf_token": token.group(1)},
                follow_redirects=False,
            )
            assert signed.status_code == 303, signed.text
            print(f"{backend}, {services} services, {requests} requests a page:")
            for name, path in pages.items():
                client.get(path)  # warm
                times = []
                for _ in range(requests):
                    started = time.perf_counter()
                    response = client.get(path, follow_redirects=False)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, (path, response.status_code)
                p50, p99 = statistics.median(times), percentile(times, 0.99)
                verdict = "ok" if p99 < TARGET_MS else f"OVER {TARGET_MS:.0f} ms"
                ok = ok and p99 < TARGET_MS
                print(f"  {name:<18} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   {verdict}")
        medic.db.dispose()
        return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    backends = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
    results = [bench(backend, args.services, args.requests) for backend in backends]
    raise SystemExit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
