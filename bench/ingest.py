"""Heartbeat ingest throughput against the ceiling of the same stack, and a check that
every acknowledged heartbeat was stored.

Starts `medic api` on a fresh PostgreSQL database with 1,000 registered services, then
drives concurrent keep-alive clients for a fixed time at (1) `GET /health/live`, a
no-op route of the same app, and (2) `POST /v2/heartbeats`, spread round-robin over
the 1,000 services (not one hot row). For each it prints requests/s, p50 and p99
latency and the non-2xx answers by status (and requests left without an answer);
then the ratio (target: ingest >= 60% of the no-op). Afterwards it counts the
heartbeat rows the measured run stored (each carries the run's marker in `message`)
against the 2xx answers it got: "201 means committed", so they must be equal.

    .venv/bin/python bench/ingest.py [--seconds 15] [--connections 64] [--workers 2]
                                     [--rounds 3] [--client wrk|asyncio]

With `--rounds N` the two routes are measured alternately N times (no-op, heartbeats,
no-op, ...), so a neighbour's load on a shared machine weighs on both alike; each
round prints its own ratio, and the verdict uses the median. Each row also says how
much CPU the load client, the API workers and the database's backends used (100% = one
core): on a 2-core machine they all compete, and the same client drives both routes.
The last column is the database's WAL flushes in the round (each batch's commit waits
for one) and their mean time, from pg_stat_wal: the disk's share of the heartbeat
rounds, which the no-op does not have.

Uses `wrk` when it is installed (`apt-get install wrk`), else a built-in asyncio
client (which costs more CPU itself, so both figures come out lower). wrk stops
without reading the answers still in flight at the end, so with wrk up to
`--connections` stored heartbeats may have no counted answer; the built-in client
waits for every answer, and its check is exact.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("MEDIC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SERVICES = 1000
# Heartbeats of the warm-up and of the measured run are told apart by their message.
WARM_UP, MEASURED = "bench-warm-up", "bench-measured"
NO_ANSWER = "no answer"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database() -> tuple[str, str, str]:
    """A fresh database with SERVICES services and a write key without a rate limit."""
    from medic.config import load_settings
    from medic.migrate import upgrade
    from medic.ops import keys, services
    from medic.ops.actor import cli_operator
    from medic.ops.service_commands import RegisterService
    from medic.process import MedicProcess

    name = f"medic_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        # Backends of this database time their WAL flushes (database_figures): a superuser may.
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            admin.execute(f'ALTER DATABASE "{name}" SET track_wal_io_timing = on')
    url = (
        PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        + "/"
        + name
    )
    upgrade(create_engine(url))
    medic = MedicProcess(
        load_settings(_env_file=None, database_url=url, medic_rate_limiter_type="memory")
    )
    context = medic.context(cli_operator())
    for n in range(SERVICES):
        services.register(
            context, RegisterService.of(heartbeat_name=service_name(n), alert_interval=5)
        )
    command = keys.CreateKey.of(name="bench", scopes=["write"], heartbeat_rate_limit=10**9)
    key = keys.create_key(context, command).key
    medic.db.dispose()
    return name, url, key


def service_name(n: int) -> str:
    return f"bench-{n:04d}"


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_api(url: str, port: int, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        "MEDIC_RATE_LIMITER_TYPE": "memory",
        "MEDIC_KEY_CACHE_SECONDS": "600",
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "medic"),
            "api",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            answered = httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1)
        except httpx.HTTPError:
            answered = None
        # Each worker listens on a socket of its own (medic.web.workers): until all do,
        # the kernel hands every connection to the ones that do.
        if answered is not None and answered.status_code == 200 and listening(port) == workers:
            return process
        time.sleep(0.2)
    process.kill()
    raise SystemExit(
        "medic api did not start: " + (process.stderr.read().decode() if process.stderr else "")
    )


def listening(port: int) -> int:
    """How many sockets listen on this TCP port (IPv4)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(
        1 for line in lines if line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A"
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live children (the uvicorn workers)."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (OSError, IndexError):
            continue
        pending.extend(int(child) for child in children)
    return total


def database_figures(url: str) -> tuple[float, int, float]:
    """The CPU of the PostgreSQL backends serving the bench's database (the API's
    connections: on one machine the database competes with the server for the cores),
    and the WAL flushes so far with their total time in ms (pg_stat_wal, PostgreSQL 14+;
    the time counts only while track_wal_io_timing is on)."""
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
        pids = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchall()
        syncs, sync_ms = connection.execute(
            "SELECT wal_sync, wal_sync_time FROM pg_stat_wal"
        ).fetchone()  # type: ignore[misc]
    return sum(cpu_seconds(pid) for (pid,) in pids), syncs, sync_ms


def run_wrk(
    url: str,
    seconds: int,
    connections: int,
    method: str,
    marker: str | None,
    headers: dict[str, str],
) -> dict:
    lua = f'wrk.method = "{method}"\n'
    for name, value in headers.items():
        lua += f'wrk.headers["{name}"] = "{value}"\n'
    if marker is not None:
        # The SERVICES requests are built once per thread: formatting each one as it is
        # sent cost wrk's Lua 5.7 µs a request against 1.4 for the no-op (perf), CPU taken
        # from the server on the same cores. Each thread walks the services from its own
        # start (wrk.thread id is not available; a random start spreads the threads).
        lua += f"""
requests = {{}}
init = function(args)
  for n = 0, {SERVICES - 1} do
    local body = string.format(
      '{{"heartbeat_name":"bench-%04d","status":"UP","message":"{marker}"}}', n)
    requests[n + 1] = wrk.format(nil, nil, nil, body)
  end
end
counter = math.random(0, {SERVICES - 1})
request = function()
  counter = counter + 1
  return requests[counter % {SERVICES} + 1]
end
"""
    lua += """
local threads = {}
function setup(thread) table.insert(threads, thread) end
statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      io.write(string.format("STATUS %d %d\\n", status, count))
    end
  end
end
"""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    output = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            script.name,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    statuses: Counter[int | str] = Counter()
    for status, count in re.findall(r"STATUS (\d+) (\d+)", output):
        statuses[int(status)] += int(count)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    if socket_errors:
        statuses[NO_ANSWER] += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return {
        "rps": rps,
        "p50_ms": _wrk_ms(output, "50%"),
        "p99_ms": _wrk_ms(output, "99%"),
        "statuses": statuses,
    }


def _wrk_ms(output: str, percentile: str) -> float:
    value, unit = re.search(rf"{re.escape(percentile)}\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def _client(
    port: int,
    next_request: Callable[[], bytes],
    until: float,
    latencies: list[float],
    statuses: Counter[int | str],
) -> None:
    """One keep-alive connection; every request sent is waited for. A connection the
    server drops counts its request as unanswered and opens a new one."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            writer.write(next_request())
            status_line = await reader.readline()
            if not status_line:
                raise ConnectionError("closed by the server")
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
        except (ConnectionError, asyncio.IncompleteReadError):
            statuses[NO_ANSWER] += 1
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        latencies.append(time.perf_counter() - started)
        statuses[int(status_line.split()[1])] += 1
    writer.close()


def run_asyncio(
    port: int,
    seconds: int,
    connections: int,
    method: str,
    path: str,
    marker: str | None,
    headers: dict[str, str],
) -> dict:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    services = itertools.cycle(range(SERVICES))

    def next_request() -> bytes:
        if marker is None:
            return (head + "Content-Length: 0\r\n\r\n").encode()
        body = json.dumps(
            {"heartbeat_name": service_name(next(services)), "status": "UP", "message": marker}
        ).encode()
        return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    latencies: list[float] = []
    statuses: Counter[int | str] = Counter()

    async def main() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(
            *(_client(port, next_request, until, latencies, statuses) for _ in range(connections))
        )

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "statuses": statuses,
    }


def acknowledged(statuses: Counter[int | str]) -> int:
    return sum(n for status, n in statuses.items() if isinstance(status, int) and status < 300)


def failures(statuses: Counter[int | str]) -> str:
    """Non-2xx answers by status, e.g. `503: 4, no answer: 1`, or `none`."""
    bad = {s: n for s, n in statuses.items() if not (isinstance(s, int) and s < 300)}
    return ", ".join(f"{s}: {n}" for s, n in sorted(bad.items(), key=str)) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers of medic api")
    parser.add_argument(
        "--rounds", type=int, default=1, help="alternate the two routes this many times"
    )
    parser.add_argument(
        "--client",
        choices=("wrk", "asyncio"),
        default=None,
        help="load client (default: wrk when installed)",
    )
    args = parser.parse_args()

    name, url, key = prepare_database()
    port = free_port()
    api = start_api(url, port, args.workers)
    use_wrk = args.client == "wrk" or (args.client is None and shutil.which("wrk") is not None)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}

    def load(seconds: int, method: str, path: str, marker: str | None) -> dict:
        started = time.perf_counter()
        server_cpu = cpu_seconds(api.pid)
        client_cpu = _own_and_children_cpu()
        database_cpu, syncs, sync_ms = database_figures(url)
        if use_wrk:
            target = f"http://127.0.0.1:{port}{path}"
            figures = run_wrk(target, seconds, args.connections, method, marker, headers)
        else:
            figures = run_asyncio(port, seconds, args.connections, method, path, marker, headers)
        elapsed = time.perf_counter() - started
        figures["client_cpu"] = (_own_and_children_cpu() - client_cpu) / elapsed
        figures["server_cpu"] = (cpu_seconds(api.pid) - server_cpu) / elapsed
        database_cpu_after, syncs_after, sync_ms_after = database_figures(url)
        figures["database_cpu"] = (database_cpu_after - database_cpu) / elapsed
        figures["wal_flushes"] = (syncs_after - syncs) / elapsed
        # Zero time for some flushes: the flushes are not being timed.
        timed = sync_ms_after > sync_ms or syncs_after == syncs
        figures["wal_flush_ms"] = (
            (sync_ms_after - sync_ms) / max(1, syncs_after - syncs) if timed else float("nan")
        )
        return figures

    routes = (
        ("no-op GET /health/live", "GET", "/health/live", None),
        ("POST /v2/heartbeats", "POST", "/v2/heartbeats", MEASURED),
    )
    try:
        rounds: list[dict[str, dict]] = []
        for _label, method, path, marker in routes:
            # Warm-up (not measured): the first request of a key pays argon2 once.
            load(2, method, path, None if marker is None else WARM_UP)
        for _ in range(args.rounds):
            rounds.append(
                {
                    label: load(args.seconds, method, path, marker)
                    for label, method, path, marker in routes
                }
            )
        with psycopg.connect(url.replace("+psycopg", "")) as check:
            stored, services_hit = check.execute(
                "SELECT count(*), count(DISTINCT service_id) FROM heartbeat_events"
                " WHERE message = %s",
                [MEASURED],
            ).fetchone()  # type: ignore[misc]
    finally:
        api.terminate()
        api.wait(timeout=20)
        drop_database(name)

    print(
        f"medic api: {args.workers} workers, PostgreSQL; load: "
        f"{'wrk' if use_wrk else 'asyncio client'}, "
        f"{args.connections} connections, {args.seconds} s each, {args.rounds} round(s)"
    )
    print(
        f"{'route':<26}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'client':>8}{'server':>8}"
        f"{'database':>10}{'WAL flushes/s':>15}{'ms each':>9}"
        "  non-2xx by status"
    )
    ratios = []
    for number, results in enumerate(rounds, 1):
        if args.rounds > 1:
            print(f"round {number}")
        for label, figures in results.items():
            print(
                f"{label:<26}{figures['rps']:>8.0f}{figures['p50_ms']:>9.2f}"
                f"{figures['p99_ms']:>9.2f}{figures['client_cpu']:>8.0%}"
                f"{figures['server_cpu']:>8.0%}{figures['database_cpu']:>10.0%}"
                f"{figures['wal_flushes']:>15.0f}{figures['wal_flush_ms']:>9.2f}"
                f"  {failures(figures['statuses'])}"
            )
        ratios.append(results[routes[1][0]]["rps"] / results[routes[0][0]]["rps"])
        print(f"heartbeat ingest / no-op ceiling: {ratios[-1]:.0%}")
    ratio = sorted(ratios)[len(ratios) // 2]
    print(f"median ratio over {len(ratios)} round(s): {ratio:.0%} (target >= 60%)")
    statuses: Counter[int | str] = Counter()
    for results in rounds:
        statuses.update(results[routes[1][0]]["statuses"])
    acked = acknowledged(statuses)
    verdict = "OK" if stored == acked else "MISMATCH"
    in_flight = args.connections * len(rounds)
    if use_wrk and acked <= stored <= acked + in_flight:
        verdict = "OK (wrk: stored may exceed acknowledged by the answers in flight at the end)"
    print(
        f"heartbeats acknowledged (2xx): {acked}; stored: {stored} "
        f"over {services_hit} services: {verdict}"
    )
    if verdict == "MISMATCH":
        raise SystemExit(1)


def _own_and_children_cpu() -> float:
    """CPU of this process (the asyncio client) and of its finished children (wrk)."""
    own = os.times()
    return own.user + own.system + own.children_user + own.children_system


if __name__ == "__main__":
    main()
