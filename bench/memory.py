"""Idle memory of Medic's processes, as they run: resident set size (RSS) after start.

Starts, each from the `medic` console script beside this interpreter:

* `medic up` (the embedded default: SQLite in a temporary directory, in-process
  broker, worker threads and the scheduler in the same process) on a free port;
* `medic api --workers 2` on a fresh PostgreSQL database of its own (created, migrated
  with `medic migrate`, dropped afterwards): the uvicorn supervisor and each worker;
* unless `--no-background`: `medic worker` and `medic scheduler` on that database and
  Redis (a namespace of their own, whose keys are deleted afterwards).

Waits until /health/live answers (and, for the others, their "running" line), then
`--idle` seconds (5), and reads VmRSS (and its anonymous / file-backed split, and the
peak VmHWM) from /proc/<pid>/status. Targets: `medic up` < 150 MB, each `medic api`
worker < 120 MB.

    .venv/bin/python bench/memory.py [--idle 5] [--no-background]

Needs PostgreSQL (MEDIC_TEST_PG_URL, default postgresql://postgres@127.0.0.1:5432/postgres)
and, for worker and scheduler, Redis (MEDIC_TEST_REDIS_URL, default
redis://127.0.0.1:6379/0). Linux only (/proc). The processes' logs stay in a temporary
directory whose path is printed.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg

PG_ADMIN_URL = os.environ.get("MEDIC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("MEDIC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MEDIC = Path(sys.executable).with_name("medic")
MB = 1024 * 1024
UP_TARGET_MB = 150
API_WORKER_TARGET_MB = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what: str, probe: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def status(pid: int) -> dict[str, int]:
    """The memory lines of /proc/<pid>/status, in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", "Threads"):
            number, *unit = value.split()
            fields[key] = int(number) * (1024 if unit == ["kB"] else 1)
    return fields


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return sorted(found)


def cmdline(pid: int) -> str:
    words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    return " ".join(w.decode(errors="replace") for w in words if w)


def spawn(args: list[str], env: dict[str, str], logs: Path, name: str) -> subprocess.Popen:
    with (logs / f"{name}.log").open("wb") as log:
        return subprocess.Popen([str(MEDIC), *args], env=env, cwd=logs, stdout=log, stderr=log)


def live(port: int) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=2).is_success
        except httpx.HTTPError:
            return False

    return probe


def logged(logs: Path, name: str, text: str, process: subprocess.Popen) -> Callable[[], bool]:
    def probe() -> bool:
        if process.poll() is not None:
            raise SystemExit(f"medic {name} exited: {(logs / f'{name}.log').read_text()}")
        return text in (logs / f"{name}.log").read_text(errors="replace")

    return probe


def row(label: str, pid: int, target_mb: float | None) -> None:
    s = status(pid)
    rss = s["VmRSS"] / MB
    verdict = "" if target_mb is None else ("ok" if rss < target_mb else "OVER")
    target = "" if target_mb is None else f"< {target_mb}"
    print(
        f"{label:<26} {pid:>7} {rss:>8.1f} {s['RssAnon'] / MB:>8.1f} {s['RssFile'] / MB:>8.1f}"
        f" {s['VmHWM'] / MB:>8.1f} {s['Threads']:>4}  {target:>6} {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle before reading")
    parser.add_argument("--no-background", action="store_true", help="skip worker, scheduler")
    args = parser.parse_args()

    logs = Path(tempfile.mkdtemp(prefix="medic-memory-"))
    print(f"logs in {logs}")
    name = f"medic_bench_mem_{uuid.uuid4().hex[:8]}"
    libpq = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    namespace = f"medic-bench-mem-{uuid.uuid4().hex[:8]}"
    base_env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL") and not key.startswith("MEDIC_")
    }
    base_env.update(MEDIC_TIMEZONE="UTC", LOG_LEVEL="INFO")
    processes: list[subprocess.Popen] = []
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        up_port, api_port = free_port(), free_port()
        up_dir = logs / "up"
        up_dir.mkdir()
        up_env = {**base_env, "MEDIC_SQLITE_PATH": str(up_dir / "medic.db")}
        up = spawn(["up", "--host", "127.0.0.1", "--port", str(up_port)], up_env, logs, "up")
        processes.append(up)

        pg_env = {
            **base_env,
            "DATABASE_URL": libpq.replace("postgresql://", "postgresql+psycopg://", 1),
            "MEDIC_RATE_LIMITER_TYPE": "memory",
        }
        subprocess.run(
            [str(MEDIC), "migrate"],
            env=pg_env,
            check=True,
            cwd=logs,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        api_args = ["api", "--host", "127.0.0.1", "--port", str(api_port), "--workers", "2"]
        api = spawn(api_args, pg_env, logs, "api")
        processes.append(api)
        background: dict[str, subprocess.Popen] = {}
        if not args.no_background:
            bg_env = {**pg_env, "REDIS_URL": REDIS_URL, "MEDIC_BROKER_NAMESPACE": namespace}
            for command in ("worker", "scheduler"):
                background[command] = spawn([command], bg_env, logs, command)
                processes.append(background[command])

        wait_until("medic up answers /health/live", live(up_port), 120)
        wait_until("medic api answers /health/live", live(api_port), 120)
        wait_until(
            "both medic api workers started",
            lambda: (logs / "api.log").read_text().count("Application startup complete") >= 2,
            120,
        )
        for command, process in background.items():
            wait_until(f"medic {command} running", logged(logs, command, "running", process), 120)
        time.sleep(args.idle)

        print(
            f"\n{'process':<26} {'pid':>7} {'RSS MB':>8} {'anon':>8} {'file':>8}"
            f" {'peak':>8} {'thr':>4}  target"
        )
        row("medic up", up.pid, UP_TARGET_MB)
        row("medic api (supervisor)", api.pid, None)
        workers = 0
        for child in children(api.pid):
            if "spawn_main" in cmdline(child):
                workers += 1
                row(f"medic api worker {workers}", child, API_WORKER_TARGET_MB)
            else:
                tracker = "resource_tracker" in cmdline(child)
                row("  resource tracker" if tracker else f"  pid {child}", child, None)
        for command, process in background.items():
            row(f"medic {command}", process.pid, None)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not args.no_background:
            import redis

            connection = redis.Redis.from_url(REDIS_URL)
            keys = list(connection.scan_iter(match=f"*{namespace}*"))
            if keys:
                connection.delete(*keys)
            connection.close()


if __name__ == "__main__":
    main()
