"""Heartbeat ingest throughput against the ceiling of the same stack.

Starts `medic api` on a fresh PostgreSQL database, then drives concurrent
keep-alive clients for a fixed time at (1) `POST /heartbeat` with a valid key and
(2) `GET /health/live`, a no-op route of the same app, and prints requests/s,
p50 and p99 latency for each and their ratio. Target: ingest >= 60% of the no-op.

    .venv/bin/python bench/ingest.py [--seconds 15] [--connections 64] [--workers 2]

Uses `wrk` when it is installed (`apt-get install wrk`), else a built-in asyncio
client (which costs more CPU itself, so both figures come out lower).
"""

from __future__ import annotations

import argparse
import asyncio
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
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("MEDIC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database() -> tuple[str, str]:
    from medic.config import load_settings
    from medic.migrate import upgrade
    from medic.ops import keys
    from medic.ops.actor import cli_operator
    from medic.ops.services import ServiceSpec, register
    from medic.process import MedicProcess

    name = f"medic_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = (
        PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        + "/"
        + name
    )
    upgrade(create_engine(url))
    medic = MedicProcess(
        load_settings(_env_file=None, database_url=url, medic_rate_limiter_type="memory")
    )
    register(
        medic.db,
        cli_operator(),
        ServiceSpec(heartbeat_name="bench-service", service_name="bench", alert_interval=5),
        "UTC",
    )
    key = keys.create_key(
        medic.db, cli_operator(), "bench", ["write"], heartbeat_rate_limit=1_000_000_000
    ).plaintext
    medic.db.dispose()
    return name, url, key  # type: ignore[return-value]


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
            if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(
        "medic api did not start: " + (process.stderr.read().decode() if process.stderr else "")
    )


def run_wrk(
    url: str, seconds: int, connections: int, method: str, body: str | None, headers: dict[str, str]
) -> dict[str, float]:
    lua = f'wrk.method = "{method}"\n'
    if body:
        lua += f"wrk.body = {json.dumps(body)}\n"
    for name, value in headers.items():
        lua += f'wrk.headers["{name}"] = "{value}"\n'
    lua += """
local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
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
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": rps,
        "p50_ms": _wrk_ms(output, "50%"),
        "p99_ms": _wrk_ms(output, "99%"),
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
    }


def _wrk_ms(output: str, percentile: str) -> float:
    value, unit = re.search(rf"{re.escape(percentile)}\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def _client(
    port: int, request: bytes, until: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while time.perf_counter() < until:
        started = time.perf_counter()
        writer.write(request)
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        if not status_line.split()[1].startswith(b"2"):
            errors.append(1)
    writer.close()


def run_asyncio(
    port: int,
    seconds: int,
    connections: int,
    method: str,
    path: str,
    body: str | None,
    headers: dict[str, str],
) -> dict[str, float]:
    payload = (body or "").encode()
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(payload)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = head.encode() + b"\r\n" + payload
    latencies: list[float] = []
    errors: list[int] = []

    async def main() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(
            *(_client(port, request, until, latencies, errors) for _ in range(connections))
        )

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "errors": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers of medic api")
    args = parser.parse_args()

    name, url, key = prepare_database()
    port = free_port()
    api = start_api(url, port, args.workers)
    use_wrk = shutil.which("wrk") is not None
    heartbeat_body = json.dumps({"heartbeat_name": "bench-service", "status": "UP"})
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    try:
        results = {}
        for label, method, path, body in (
            ("no-op GET /health/live", "GET", "/health/live", None),
            ("POST /heartbeat", "POST", "/heartbeat", heartbeat_body),
        ):
            # Warm-up (not measured): the first request of a key pays argon2 once.
            warm = 2
            if use_wrk:
                run_wrk(
                    f"http://127.0.0.1:{port}{path}", warm, args.connections, method, body, headers
                )
            else:
                run_asyncio(port, warm, args.connections, method, path, body, headers)
            if use_wrk:
                results[label] = run_wrk(
                    f"http://127.0.0.1:{port}{path}",
                    args.seconds,
                    args.connections,
                    method,
                    body,
                    headers,
                )
            else:
                results[label] = run_asyncio(
                    port, args.seconds, args.connections, method, path, body, headers
                )
        with psycopg.connect(url.replace("+psycopg", "")) as check:
            stored = check.execute("SELECT count(*) FROM heartbeat_events").fetchone()[0]
    finally:
        api.terminate()
        api.wait(timeout=20)
        drop_database(name)

    print(
        f"medic api: {args.workers} workers, PostgreSQL; load: "
        f"{'wrk' if use_wrk else 'asyncio client'}, "
        f"{args.connections} connections, {args.seconds} s each"
    )
    print(f"{'route':<26}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for label, figures in results.items():
        print(
            f"{label:<26}{figures['rps']:>10.0f}{figures['p50_ms']:>10.2f}"
            f"{figures['p99_ms']:>10.2f}{figures['errors']:>10}"
        )
    ratio = results["POST /heartbeat"]["rps"] / results["no-op GET /health/live"]["rps"]
    print(f"heartbeat ingest / no-op ceiling: {ratio:.0%} (target >= 60%)")
    print(f"heartbeats committed: {stored}")


if __name__ == "__main__":
    main()
