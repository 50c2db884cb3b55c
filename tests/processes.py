"""Real Medic processes for tests: `medic worker` / `medic scheduler` started on the
test's database and a Redis namespace of its own, and `wait_for`, which polls against
a real-time deadline (nothing sleeps for correctness)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis

from medic.process import MedicProcess

REDIS_URL = os.environ.get("MEDIC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MEDIC = Path(sys.executable).with_name("medic")
T = TypeVar("T")

Spawn = Callable[..., "subprocess.Popen[bytes]"]


def free_port() -> int:
    """A TCP port nothing listens on now, for a process the test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, probe: Callable[[], T], timeout: float) -> T:
    """Poll `probe` until it returns something truthy; fail after `timeout` real seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what} (last: {value!r})")
        time.sleep(0.02)


@pytest.fixture
def redis_namespace() -> Iterator[str]:
    """A broker namespace of this test's own; its Redis keys (the broker's, and the rate
    limiter's, which carry it inside their names) are deleted afterwards."""
    namespace = f"medic-test-{uuid.uuid4().hex[:12]}"
    yield namespace
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(connection.scan_iter(match=f"*{namespace}*"))
        if keys:
            connection.delete(*keys)
    finally:
        connection.close()


@pytest.fixture
def spawn(medic: MedicProcess, redis_namespace: str, tmp_path: Path) -> Iterator[Spawn]:
    """`spawn(command, name, **env)` starts `medic <command>` on this test's database
    and namespace, its output in tmp_path/<name>.log, with extra environment `env`;
    every process is ended at teardown."""
    processes: list[subprocess.Popen[bytes]] = []
    base_env = {
        **os.environ,
        "DATABASE_URL": medic.settings.libpq_url,
        "REDIS_URL": REDIS_URL,
        "MEDIC_BROKER_NAMESPACE": redis_namespace,
        "MEDIC_WORKER_THREADS": "2",
        "MEDIC_TIMEZONE": "UTC",
        "LOG_LEVEL": "INFO",
    }

    def start(command: str, name: str, **env: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [str(MEDIC), command],
                env={**base_env, **env},
                cwd=tmp_path,
                stdout=log,
                stderr=log,
            )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
