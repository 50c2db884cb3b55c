"""Alert latency end to end, as a deployment runs it: deadline -> Slack message received.

Starts real `medic api`, `medic scheduler` and `medic worker` processes on a fresh
PostgreSQL database and Redis namespace, with SLACK_API_BASE_URL pointing at a
recording fake Slack Web API on 127.0.0.1. Registers `--services` services (default
100,000) that beat hourly, and `--alerts` (1,000) with a one-minute interval that beat
once each, spread over `--spread` seconds (10), through the API, then stop. Prints
p50/p99/max of (Slack message received - deadline) and how many messages each
incident got (exactly one is right). Target: p99 <= 1 s.

The deadline is Medic's own rule (medic.core.schedules.next_due_at): the last proof
of life + interval + grace (there is no grace here), computed from the stored
heartbeat and checked against the `next_due_at` the API stored.

Registration: two services go through the API (`POST /v2/services`), one hourly and
one per-minute; the others are copies of their rows made in SQL (new uuid, name and
name_key, the registration instant, and next_due_at by the same rule), with the
audit entry the API writes, because 100,000 API calls take minutes. The hourly ones
get one heartbeat each at a random instant of the last hour, written as the ingest
path writes it (the event row; last_heartbeat_at, last_alive_at, next_due_at = beat +
1 h; state up), and keep beating during the run through the API at the rate
100,000 hourly services beat (about 28/s), so none of them falls due.

`--trace` follows every alert through each hand-off, with timestamps from the
database (heartbeat time, the pass's `now` on the notification, planning's `now` on
the delivery), Redis MONITOR (each broker message's enqueue, fetch and ack: notify
and deliver, including a hop through a delay queue) and the fake Slack, and prints
per-stage p50/p99/max and the timelines of the median and the slowest alert. MONITOR
slows Redis a little. Every run also prints the CPU seconds the processes (and this
database's PostgreSQL backends) used while waiting and while alerting: on a busy
machine the worker's CPU per alert, not any wait, is what a burst queues behind.

    .venv/bin/python bench/alert_latency.py [--services 100000] [--alerts 1000] [--trace]
        [--workers N]  (`medic worker` replicas)  [--keep-logs]

Needs PostgreSQL (MEDIC_TEST_PG_URL, default postgresql://postgres@127.0.0.1:5432/postgres)
and Redis (MEDIC_TEST_REDIS_URL, default redis://127.0.0.1:6379/0). Creates and drops
its own database and Redis namespace; with --keep-logs the processes' logs stay in a
temporary directory whose path is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import psycopg
import redis

PG_ADMIN_URL = os.environ.get("MEDIC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("MEDIC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MEDIC = Path(sys.executable).with_name("medic")
CHANNEL = "C0ALERTS"
HOURLY, MINUTE = "lat-h-", "lat-m-"
DOWN_TEXT = re.compile(r"^(\S+) is DOWN")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (
        f"p50 {percentile(values, 0.5) * 1000:7.0f} ms  p99 {percentile(values, 0.99) * 1000:7.0f}"
        f" ms  max {max(values) * 1000:7.0f} ms  min {min(values) * 1000:6.0f} ms"
    )


# The fake Slack: records when each message arrived.


@dataclass
class SlackRecorder:
    posts: list[tuple[float, str, str]] = field(default_factory=list)  # (received, ts, text)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, and each answer leaves in one segment: written in pieces, Nagle's
            # algorithm and the client's delayed ACK would hold every answer for ~40 ms.
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            wbufsize = -1

            def do_POST(self) -> None:
                received = time.time()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                method = self.path.split("?", 1)[0].removeprefix("/api/")
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    body = json.loads(raw or b"{}")
                else:
                    body = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
                answer: dict[str, Any] = {"ok": True}
                if method in ("chat.postMessage", "chat.update"):
                    n = next(recorder.counter)
                    ts = str(body.get("ts") or f"{1_700_000_000 + n}.{n:06d}")
                    with recorder.lock:
                        if method == "chat.postMessage":
                            recorder.posts.append((received, ts, str(body.get("text", ""))))
                    answer = {"ok": True, "channel": body.get("channel"), "ts": ts}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def count(self) -> int:
        with self.lock:
            return len(self.posts)

    def last(self) -> float:
        with self.lock:
            return max((received for received, _, _ in self.posts), default=time.time())


def start_slack(recorder: SlackRecorder) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), recorder.handler())
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# Redis MONITOR (--trace): when each broker message was enqueued, fetched and acked.


@dataclass
class BrokerTrace:
    namespace: str
    # redis message id -> (actor, args, queue) and the instants of its events
    messages: dict[str, tuple[str, list[Any], str]] = field(default_factory=dict)
    events: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    stopping: threading.Event = field(default_factory=threading.Event)
    ready: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        client = redis.Redis.from_url(REDIS_URL)
        with client.monitor() as monitor:
            self.ready.set()
            while not self.stopping.is_set():
                command = monitor.next_command()
                if self.namespace not in command["command"]:
                    continue
                self._note(command["time"], command["command"].split(" "))

    def _note(self, at: float, words: list[str]) -> None:
        verb = words[0].lower()
        if verb == "hset" and words[1].endswith(".msgs") and len(words) >= 4:
            data = json.loads(" ".join(words[3:]).replace("\\\\", "\\"))
            queue = words[1].rsplit(":", 1)[1].removesuffix(".msgs")
            self.messages[words[2]] = (data["actor_name"], data["args"], queue)
            self.events[words[2]]["enqueued"] = at
        elif verb == "sadd" and "__acks__" in words[1]:
            self.events[words[2]].setdefault("fetched", at)
        elif verb == "srem" and "__acks__" in words[1]:
            self.events[words[2]].setdefault("acked", at)

    def hops(self, actor: str) -> dict[int, list[dict[str, Any]]]:
        """Per id in the messages' args: the messages of `actor` that carried it."""
        found: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for redis_id, (name, args, queue) in list(self.messages.items()):
            if name != actor:
                continue
            ids = args[0] if isinstance(args[0], list) else [args[0]]
            for item in ids:
                found[int(item)].append({"queue": queue, **self.events.get(redis_id, {})})
        return found


# Processes, database, API.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(command: list[str], env: dict[str, str], logs: Path, name: str) -> subprocess.Popen:
    with (logs / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [str(MEDIC), *command], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=logs
        )


def create_key(url: str) -> str:
    from medic.config import load_settings
    from medic.ops import keys
    from medic.ops.actor import cli_operator
    from medic.process import MedicProcess

    medic = MedicProcess(
        load_settings(_env_file=None, database_url=url, medic_rate_limiter_type="memory")
    )
    command = keys.CreateKey.of(name="bench", scopes=["admin"], heartbeat_rate_limit=10**9)
    key = keys.create_key(medic.context(cli_operator()), command).key
    medic.db.dispose()
    return key


def register(api: httpx.Client, name: str, interval: int) -> int:
    answer = api.post("/v2/services", json={"heartbeat_name": name, "alert_interval": interval})
    answer.raise_for_status()
    return int(answer.json()["results"]["service_id"])


def clone_services(
    conn: psycopg.Connection, template: int, prefix: str, first: int, count: int
) -> None:
    """Copies of the template's row, as the API registers them: only the uuid, the
    name, the registration instant and its deadline differ. With the audit entry."""
    columns = [
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'services' "
            "AND column_name <> 'service_id' ORDER BY ordinal_position"
        )
    ]
    name = f"'{prefix}' || lpad(n::text, 6, '0')"
    replaced = {
        "uuid": "gen_random_uuid()::text",
        "heartbeat_name": name,
        "name_key": f"lower({name})",
        "date_added": "now()",
        "date_modified": "now()",
        # medic.core.schedules.next_due_at with no beat yet: registered + interval + grace.
        "next_due_at": "now() + make_interval(mins => t.alert_interval, "
        "secs => t.grace_period_seconds)",
        "deadline_check_at": "now() + make_interval(mins => t.alert_interval, "
        "secs => t.grace_period_seconds)",
        # Unique per service: a copy has neither (a slug and a badge are optional).
        "slug": "NULL",
        "badge_token": "NULL",
    }
    select = ", ".join(replaced.get(c, f"t.{c}") for c in columns)
    conn.execute(
        f"INSERT INTO services ({', '.join(columns)}) SELECT {select} FROM services t, "
        f"generate_series(%(first)s::int, %(last)s::int) AS n WHERE t.service_id = %(template)s",
        {"first": first, "last": first + count - 1, "template": template},
    )
    conn.execute(
        "INSERT INTO audit_log (at, actor, front_door, action, target_type, target_id, "
        "outcome, details) SELECT s.date_added, a.actor, a.front_door, a.action, "
        "a.target_type, s.service_id::text, a.outcome, "
        "a.details || jsonb_build_object('heartbeat_name', s.heartbeat_name) "
        "FROM services s, audit_log a WHERE s.heartbeat_name LIKE %(like)s "
        "AND s.service_id <> %(template)s AND a.action = 'service.register' "
        "AND a.target_id = %(template)s::text",
        {"like": f"{prefix}%", "template": template},
    )


def beat_in_the_last_hour(conn: psycopg.Connection, prefix: str, template: int) -> None:
    """One heartbeat per hourly copy, 2 to 55 minutes ago, stored as ingest stores it."""
    conn.execute(
        "CREATE TEMP TABLE beats AS SELECT service_id, "
        "now() - interval '2 minutes' - random() * interval '53 minutes' AS time "
        "FROM services WHERE heartbeat_name LIKE %(like)s AND service_id <> %(template)s",
        {"like": f"{prefix}%", "template": template},
    )
    conn.execute(
        "INSERT INTO heartbeat_events (service_id, time, status) "
        "SELECT service_id, time, 'UP' FROM beats"
    )
    conn.execute(
        "UPDATE services s SET last_heartbeat_at = b.time, last_alive_at = b.time, "
        "next_due_at = b.time + make_interval(mins => s.alert_interval, "
        "secs => s.grace_period_seconds), deadline_check_at = b.time + "
        "make_interval(mins => s.alert_interval, secs => s.grace_period_seconds), "
        "state = 'up' FROM beats b "
        "WHERE s.service_id = b.service_id"
    )
    conn.execute("DROP TABLE beats")


async def post_beats(
    base_url: str, key: str, names: list[str], start: float, seconds: float
) -> dict[str, float]:
    """Beat each of `names` once, evenly over `seconds` from `start`; when each 201 came."""
    answered: dict[str, float] = {}
    limits = httpx.Limits(max_connections=32)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits) as client:

        async def one(name: str, at: float) -> None:
            await asyncio.sleep(max(0.0, at - time.time()))
            answer = await client.post("/v2/heartbeats", json={"heartbeat_name": name})
            if answer.status_code == 201:
                answered[name] = time.time()

        step = seconds / max(1, len(names))
        await asyncio.gather(*(one(name, start + i * step) for i, name in enumerate(names)))
    return answered


def keep_beating(
    base_url: str, key: str, names: list[str], per_second: float, stop: threading.Event
):
    """The hourly services' own beats during the run, at their real rate."""

    async def run() -> None:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers) as client:
            pending: set[asyncio.Task] = set()
            for name in itertools.cycle(names):
                if stop.is_set():
                    break
                task = asyncio.create_task(
                    client.post("/v2/heartbeats", json={"heartbeat_name": name})
                )
                pending.add(task)
                task.add_done_callback(pending.discard)
                await asyncio.sleep(1 / per_second)
            await asyncio.gather(*pending, return_exceptions=True)

    thread = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
    thread.start()
    return thread


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far; 0 where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_sample(processes: list[subprocess.Popen], conn: psycopg.Connection) -> dict[str, float]:
    """CPU seconds so far of the three processes, and of each PostgreSQL backend serving
    this database (by pid; the bench's own connection included)."""
    api, scheduler, *workers = processes
    sample = {
        "api": cpu_seconds(api.pid),
        "scheduler": cpu_seconds(scheduler.pid),
        "worker": sum(cpu_seconds(worker.pid) for worker in workers),
    }
    for (pid,) in conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    ).fetchall():
        sample[f"pg{pid}"] = cpu_seconds(pid)
    return sample


def cpu_used(before: dict[str, float], after: dict[str, float]) -> str:
    used = {n: c - before.get(n, 0.0) for n, c in after.items()}
    postgres = sum(c for n, c in used.items() if n.startswith("pg"))
    return ", ".join(
        [
            *(f"{n} {used[n]:.1f}" for n in ("api", "scheduler", "worker")),
            f"postgres {postgres:.1f}",
        ]
    )


def wait_until(what: str, probe, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=10.0, help="seconds the beats span")
    parser.add_argument("--trace", action="store_true", help="time every hand-off")
    parser.add_argument(
        "--workers", type=int, default=1, help="`medic worker` processes (replicas)"
    )
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()

    from sqlalchemy import create_engine

    from medic.core.schedules import next_due_at, schedule_of
    from medic.migrate import upgrade

    name = f"medic_bench_{uuid.uuid4().hex[:8]}"
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    libpq = f"{base}/{name}"
    url = libpq.replace("postgresql://", "postgresql+psycopg://", 1)
    namespace = f"medic-bench-{uuid.uuid4().hex[:8]}"
    logs = Path(tempfile.mkdtemp(prefix="medic-alert-latency-"))
    recorder = SlackRecorder()
    slack = start_slack(recorder)
    processes: list[subprocess.Popen] = []
    trace = BrokerTrace(namespace) if args.trace else None
    stop_beating = threading.Event()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        upgrade(create_engine(url))
        key = create_key(url)
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": REDIS_URL,
            "MEDIC_BROKER_NAMESPACE": namespace,
            "MEDIC_TIMEZONE": "UTC",
            "MEDIC_RATE_LIMITER_TYPE": "memory",
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_CHANNEL_ID": CHANNEL,
            "SLACK_API_BASE_URL": f"http://127.0.0.1:{slack.server_address[1]}/api/",
            "LOG_LEVEL": "INFO",
        }
        processes.append(
            spawn(["api", "--host", "127.0.0.1", "--port", str(port)], env, logs, "api")
        )
        processes.append(spawn(["scheduler"], env, logs, "scheduler"))
        for n in range(args.workers):
            processes.append(spawn(["worker"], env, logs, f"worker{n or ''}"))
        base_url = f"http://127.0.0.1:{port}"
        api = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"})

        def api_up() -> bool:
            try:
                return api.get("/health/live").status_code == 200
            except httpx.HTTPError:
                return False

        wait_until("the API answers", api_up, 60)
        hourly_count = args.services - args.alerts
        with psycopg.connect(libpq, autocommit=True) as conn:
            started = time.perf_counter()
            template = register(api, f"{HOURLY}000000", 60)
            api.post(
                "/v2/heartbeats", json={"heartbeat_name": f"{HOURLY}000000"}
            ).raise_for_status()
            clone_services(conn, template, HOURLY, 1, hourly_count - 1)
            beat_in_the_last_hour(conn, HOURLY, template)
            conn.execute("VACUUM ANALYZE")
            print(
                f"registered {hourly_count:,} hourly services (1 through the API), each with a "
                f"beat in the last hour, in {time.perf_counter() - started:.1f} s"
            )
            wait_until(
                "the scheduler's first pass",
                lambda: conn.execute("SELECT count(*) FROM periodic_jobs").fetchone()[0] > 0,
                60,
            )
            wait_until(
                "the worker",
                lambda: b"running" in (logs / "worker.log").read_bytes(),
                60,
            )
            hourly_names = [f"{HOURLY}{n:06d}" for n in range(hourly_count)]
            random.shuffle(hourly_names)
            keep_beating(base_url, key, hourly_names, max(1.0, hourly_count / 3600), stop_beating)
            if trace is not None:
                threading.Thread(target=trace.run, daemon=True).start()
                trace.ready.wait(10)

            # The per-minute services: registered now, each beating once, then silent.
            minute_template = register(api, f"{MINUTE}000000", 1)
            clone_services(conn, minute_template, MINUTE, 1, args.alerts - 1)
            conn.execute("SELECT pg_notify('medic_scheduler', '')")  # as the API does
            minute_names = [f"{MINUTE}{n:06d}" for n in range(args.alerts)]
            random.shuffle(minute_names)
            beat_start = time.time() + 0.5
            cpu_before = cpu_sample(processes, conn)
            answered = asyncio.run(post_beats(base_url, key, minute_names, beat_start, args.spread))
            print(
                f"{len(answered):,} of {args.alerts:,} per-minute services beat once over "
                f"{args.spread:g} s (201 = committed), then stopped"
            )

            # Deadlines by Medic's rule, from what was stored.
            rows = conn.execute(
                "SELECT s.*, (SELECT max(e.time) FROM heartbeat_events e "
                "WHERE e.service_id = s.service_id AND e.status = 'UP') AS beat "
                "FROM services s WHERE s.heartbeat_name LIKE %(like)s",
                {"like": f"{MINUTE}%"},
                prepare=False,
            )
            columns = [c.name for c in rows.description]
            deadlines: dict[str, datetime] = {}
            beats: dict[str, datetime] = {}
            disagree = 0
            for row in rows.fetchall():
                service = dict(zip(columns, row, strict=True))
                schedule = schedule_of(service, "UTC")
                recent = [service["beat"]] if service["beat"] else []
                deadline = next_due_at(schedule, recent, service["date_added"])
                deadlines[service["heartbeat_name"]] = deadline
                beats[service["heartbeat_name"]] = service["beat"]
                disagree += deadline != service["next_due_at"]
            print(
                "deadline = last proof-of-life beat + alert_interval (1 min) + grace (0 s) "
                "(medic.core.schedules.next_due_at); "
                f"differs from the stored next_due_at for {disagree} services"
            )
            last = max(deadlines.values()).timestamp()
            first = min(deadlines.values()).timestamp()
            time.sleep(max(0.0, first - 1 - time.time()))
            cpu_idle = cpu_used(cpu_before, cpu_sample(processes, conn))
            idle_seconds = time.time() - beat_start
            cpu_before = cpu_sample(processes, conn)
            alerting_from = time.time()
            wait_until(
                f"{args.alerts} Slack messages",
                lambda: recorder.count() >= args.alerts or time.time() > last + 60,
                max(0.0, last - time.time()) + 90,
            )
            cpu_alerting = cpu_used(cpu_before, cpu_sample(processes, conn))
            time.sleep(5)  # duplicates, if any, would come now
            stop_beating.set()
            report(conn, recorder, deadlines, beats, answered, args.alerts)
            print(
                f"CPU seconds used while the beats came and stopped ({idle_seconds:.0f} s): "
                f"{cpu_idle}\n    from 1 s before the first deadline to the last message "
                f"({recorder.last() - alerting_from:.0f} s): {cpu_alerting}"
            )
            if trace is not None:
                trace.stopping.set()
                report_trace(conn, trace, recorder, deadlines, answered)
    finally:
        stop_beating.set()
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        slack.shutdown()
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"*{namespace}*"))
        if keys:
            client.delete(*keys)
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if args.keep_logs:
            print(f"process logs: {logs}")
        else:
            shutil.rmtree(logs, ignore_errors=True)


def report(
    conn: psycopg.Connection,
    recorder: SlackRecorder,
    deadlines: dict[str, datetime],
    beats: dict[str, datetime],
    answered: dict[str, float],
    expected: int,
) -> None:
    first: dict[str, float] = {}
    per_service: Counter[str] = Counter()
    for received, _, text in recorder.posts:
        match = DOWN_TEXT.match(text)
        if match is None:
            continue
        per_service[match.group(1)] += 1
        first.setdefault(match.group(1), received)
    latencies = [first[n] - deadlines[n].timestamp() for n in first if n in deadlines]
    early = sum(1 for value in latencies if value < 0)
    counts = Counter(per_service.get(n, 0) for n in deadlines)
    others = sum(v for k, v in per_service.items() if k not in deadlines)
    alerts = conn.execute("SELECT count(*), count(DISTINCT service_id) FROM alerts").fetchone()
    print(
        f"deadline -> Slack message received: {spread(latencies)}\n"
        f"    over {len(latencies):,} of {expected:,} incidents (target p99 <= 1 s); "
        f"{early} before their deadline"
    )
    print(
        "messages per incident: "
        + ", ".join(f"{n} message(s): {c:,}" for n, c in sorted(counts.items()))
        + f"; other services alerted: {others}"
        + f"; alerts opened: {alerts[0]:,} for {alerts[1]:,} services"
    )
    stored = [answered[n] - beats[n].timestamp() for n in answered if beats.get(n)]
    print(f"heartbeat received -> 201 (committed): {spread(stored)}")


def report_trace(
    conn: psycopg.Connection,
    trace: BrokerTrace,
    recorder: SlackRecorder,
    deadlines: dict[str, datetime],
    answered: dict[str, float],
) -> None:
    """Each hand-off of each alert, in seconds from its deadline."""
    slack_at = {ts: received for received, ts, _ in recorder.posts}
    rows = conn.execute(
        "SELECT s.heartbeat_name, n.notification_id, extract(epoch FROM n.created_at), "
        "d.delivery_id, extract(epoch FROM d.created_at), d.reference->>'ts', "
        "extract(epoch FROM a.attempted_at) "
        "FROM notifications n JOIN services s USING (service_id) "
        "LEFT JOIN deliveries d USING (notification_id) "
        "LEFT JOIN delivery_attempts a ON a.delivery_id = d.delivery_id AND a.succeeded "
        "WHERE n.kind = 'alert.opened'"
    ).fetchall()
    notify = trace.hops("medic_notify")
    deliver = trace.hops("medic_deliver")
    stages: dict[str, list[float]] = defaultdict(list)
    timelines: list[tuple[float, list[tuple[str, float]]]] = []
    for name, nid, claimed, did, planned, ts, recorded in rows:
        if name not in deadlines:
            continue
        due = deadlines[name].timestamp()
        marks: list[tuple[str, float | None]] = [
            ("heartbeat answered 201", answered.get(name)),
            ("deadline", due),
            ("scheduler pass started (notification.created_at)", float(claimed)),
        ]
        for hop in notify.get(int(nid), [])[:1]:
            marks += [
                ("notify message enqueued (after the commit)", hop.get("enqueued")),
                ("notify message fetched by a worker", hop.get("fetched")),
            ]
        marks.append(("worker planned the delivery (delivery.created_at)", _f(planned)))
        for hop in deliver.get(int(did), [])[:2] if did else []:
            where = "delay queue" if hop["queue"].endswith(".DQ") else "deliver queue"
            marks += [
                (f"deliver message enqueued on the {where}", hop.get("enqueued")),
                (f"deliver message fetched from the {where}", hop.get("fetched")),
            ]
        marks += [
            ("Slack received chat.postMessage", slack_at.get(ts or "")),
            ("attempt recorded (delivery_attempt.attempted_at)", _f(recorded)),
        ]
        present = [(label, at) for label, at in marks if at is not None]
        for (_, before), (label, after) in itertools.pairwise(present):
            stages[label].append(after - before)
        end = slack_at.get(ts or "")
        if end is not None:
            timelines.append((end - due, [(label, at - due) for label, at in present]))
    print("per hand-off, time since the previous step present (--trace):")
    order = list(dict.fromkeys(label for _, marks in timelines for label, _ in marks))
    for label in order:
        if label in stages and label != "deadline":  # beat -> deadline is the interval
            print(f"  {label:<52} {spread(stages[label])}")
    if timelines:
        timelines.sort(key=lambda item: item[0])
        for title, (_, marks) in (
            ("the median alert", timelines[len(timelines) // 2]),
            ("the slowest alert", timelines[-1]),
        ):
            print(f"timeline of {title}, seconds from its deadline:")
            for label, offset in marks:
                print(f"  {offset:+8.3f}  {label}")


def _f(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
