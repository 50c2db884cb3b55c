"""Bogus API keys against a real `medic up`: memory and a valid client's latency.

The attack of issue 14 (finding 9): many concurrent requests with
`Authorization: Bearer mdk_<a live key's prefix>_<random>`. Each names a real key,
so each used to cost an unbounded argon2 verification (64 MiB, about 0.3 s): 60 at
once took the API from 177 MB to 2.3 GB and a valid heartbeat to 3 s.

Starts `medic up` (SQLite in a temporary directory, or --database-url), takes the
first admin key it prints, registers a service, then for --seconds keeps
--connections connections sending bogus keys with that key's prefix, from
--sources loopback addresses (127.0.0.2, 127.0.0.3, ...: a distributed attacker,
so the per-address limit on failed authentications does not stop it and the bound
on argon2 is what is measured; --sources 1 is a single attacker). Meanwhile a
valid client posts a heartbeat every 100 ms from 127.0.0.1. Prints the API's RSS
before, at its peak and after, and the valid heartbeats' latency.
Target: RSS grows < 200 MB, valid heartbeat latency < 100 ms.

    .venv/bin/python bench/bogus_keys.py [--seconds 15] [--connections 60] [--sources 60]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

MEDIC = Path(sys.executable).with_name("medic")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("medic up is gone (no VmRSS): see its output above")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(the whole process, its threads at normal priority) in CPU seconds. The rest ran at
    low priority: argon2 (whose lane threads come and go, so they count in the total)."""
    ticks = os.sysconf("SC_CLK_TCK")

    def used(stat: str) -> float:
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime

    total = used(Path(f"/proc/{pid}/stat").read_text())
    normal = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[16]) == 0:  # nice
            normal += used(stat)
    return total, normal


def start_medic(
    directory: Path, port: int, database_url: str | None
) -> tuple[subprocess.Popen[str], str]:
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "MEDIC_SQLITE_PATH": str(directory / "medic.db"),
        "MEDIC_RATE_LIMITER_TYPE": "memory",
        "MEDIC_RATE_LIMIT_HEARTBEATS": "1000000",  # the valid client's own limit
        "MEDIC_TIMEZONE": "UTC",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    process = subprocess.Popen(
        [str(MEDIC), "up", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A session (so a scheduler autogroup) of its own: the attackers' CPU is not
        # charged to the server, as when they run on other machines.
        start_new_session=True,
    )
    assert process.stdout is not None
    admin_key = None
    deadline = time.monotonic() + 60
    while admin_key is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if line.strip().startswith("mdk_"):
            admin_key = line.strip()
    if admin_key is None:
        process.kill()
        raise SystemExit("medic up printed no first admin key (use an empty database)")
    # Keep draining its output (to stderr) so it never blocks on a full pipe.
    threading.Thread(target=lambda: sys.stderr.writelines(process.stdout), daemon=True).start()
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code == 200:
                return process, admin_key
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("medic up did not answer /health/live")


async def attacker(
    client: httpx.AsyncClient, prefix: str, until: float, statuses: Counter[int]
) -> None:
    while time.monotonic() < until:
        bogus = f"mdk_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            answer = await client.post(
                "/v2/heartbeats",
                json={"heartbeat_name": "bench-service", "status": "UP"},
                headers={"Authorization": f"Bearer {bogus}"},
            )
            statuses[answer.status_code] += 1
            if answer.status_code == 429:
                retry_after = float(answer.headers.get("Retry-After", "1"))
                await asyncio.sleep(max(0.0, min(retry_after, until - time.monotonic())))
        except httpx.HTTPError:
            statuses[0] += 1


def run_attackers(
    base: str,
    prefix: str,
    connections: int,
    sources: int,
    seconds: float,
    results: multiprocessing.Queue[dict[int, int]],
) -> None:
    statuses: Counter[int] = Counter()

    async def attack() -> None:
        clients = [
            httpx.AsyncClient(
                base_url=base,
                timeout=120,
                transport=httpx.AsyncHTTPTransport(local_address=f"127.0.0.{2 + i % sources}"),
            )
            for i in range(connections)
        ]
        until = time.monotonic() + seconds
        await asyncio.gather(*(attacker(client, prefix, until, statuses) for client in clients))
        for client in clients:
            await client.aclose()

    asyncio.run(attack())
    results.put(dict(statuses))


async def valid_client(
    base: str, key: str, until: float, latencies: list[tuple[float, float]]
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await client.get("/health/live")  # connected before the clock starts
        while time.monotonic() < until:
            started = time.perf_counter()
            answer = await client.post(
                "/v2/heartbeats",
                json={"heartbeat_name": "bench-service", "status": "UP"},
                headers={"Authorization": f"Bearer {key}"},
            )
            latencies.append((started, time.perf_counter() - started))
            assert answer.status_code in (200, 201, 202), answer.text
            await asyncio.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=60)
    parser.add_argument("--sources", type=int, default=60, help="attacking loopback addresses")
    parser.add_argument("--database-url", help="PostgreSQL URL of an empty database")
    args = parser.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as directory:
        medic, admin_key = start_medic(Path(directory), port, args.database_url)
        try:
            headers = {"Authorization": f"Bearer {admin_key}"}
            registered = httpx.post(
                f"{base}/v2/services",
                json={
                    "heartbeat_name": "bench-service",
                    "service_name": "bench",
                    "alert_interval": 5,
                },
                headers=headers,
            )
            assert registered.status_code == 201, registered.text
            # The same valid client alone first: the machine's own noise, to compare with.
            baseline: list[float] = []
            asyncio.run(valid_client(base, admin_key, time.monotonic() + args.seconds, baseline))
            prefix = admin_key.split("_")[1]
            time.sleep(1)
            before = rss_mb(medic.pid)
            peak = [before]
            sampling = threading.Event()

            def sample() -> None:
                while not sampling.is_set():
                    peak[0] = max(peak[0], rss_mb(medic.pid))
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample)
            sampler.start()
            statuses: Counter[int] = Counter()
            latencies: list[tuple[float, float]] = []

            # The attackers run in a process of their own, so the valid client's latency
            # is the server's, not this script's event loop's.
            results: multiprocessing.Queue[dict[int, int]] = multiprocessing.Queue()
            attackers = multiprocessing.Process(
                target=run_attackers,
                args=(base, prefix, args.connections, args.sources, args.seconds, results),
            )
            cpu_before = cpu_seconds(medic.pid)
            started = time.monotonic()
            attackers.start()
            asyncio.run(valid_client(base, admin_key, started + args.seconds, latencies))
            statuses.update(results.get())
            attackers.join()
            elapsed = time.monotonic() - started
            cpu_after = cpu_seconds(medic.pid)
            time.sleep(2)
            sampling.set()
            sampler.join()
            after = rss_mb(medic.pid)
        finally:
            medic.terminate()
            try:
                medic.wait(timeout=20)
            except subprocess.TimeoutExpired:
                medic.kill()

    print(
        f"medic up ({'PostgreSQL' if args.database_url else 'SQLite'}): {args.connections} "
        f"connections with bogus keys of a live prefix from {args.sources} addresses, "
        f"{elapsed:.1f} s"
    )
    print(f"bogus answers: {dict(sorted(statuses.items()))}")
    print(
        f"RSS: before {before:.0f} MB, peak {peak[0]:.0f} MB, after {after:.0f} MB; "
        f"growth {after - before:+.0f} MB (peak {peak[0] - before:+.0f} MB; target < 200 MB)"
    )
    total, normal = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
    print(
        f"medic's CPU during the attack: {total:.1f} s, of which {normal:.1f} s serving and "
        f"{total - normal:.1f} s argon2 at low priority"
    )
    print(f"valid heartbeat alone:             {summary(baseline)}")
    print(f"valid heartbeat during the attack: {summary(latencies)} (target < 100 ms)")
    slow = [(at, took) for at, took in latencies if took > 0.1]
    if slow:
        print(
            "slow ones (s into the attack: ms): "
            + ", ".join(f"{at - latencies[0][0]:.1f}: {took * 1000:.0f}" for at, took in slow)
        )


def summary(latencies: list[tuple[float, float]]) -> str:
    ms = sorted(took * 1000 for _, took in latencies)
    return (
        f"{len(ms)} requests, p50 {ms[len(ms) // 2]:.1f} ms, "
        f"p99 {ms[int(len(ms) * 0.99)]:.1f} ms, max {ms[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
