"""Real Medic processes for tests: `medic worker` / `medic scheduler` started on the
test's database and a Redis namespace of its own, and `wait_for`, which polls against
a real-time deadline (nothing sleeps for correctness)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redis
import uvicorn

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


@contextmanager
def serving(app: Any, log_level: str = "warning") -> Iterator[str]:
    """`app` under uvicorn on 127.0.0.1, a free port, in a thread (lifespan on); yields its
    base URL and stops the server afterwards."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        listener.close()


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


def clean_env(**values: str) -> dict[str, str]:
    """This environment without Medic's settings (the test run's own), plus `values`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "DB_HOST") and not key.startswith("MEDIC_")
    }
    return {**env, **values}


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and SIGKILL if it has not stopped within 15 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class MedicUp:
    """`medic up` as a newcomer runs it: the embedded default (SQLite file `medic.db` in
    `directory`, unless `env` names DATABASE_URL; the in-process broker), on
    127.0.0.1:`port`, with management limits raised for tests that poll. `admin` holds
    the key its first start printed; each start logs to `directory`/up-<n>.log."""

    def __init__(self, directory: Path, port: int, **env: str) -> None:
        self.directory, self.port = directory, port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            "MEDIC_SQLITE_PATH": str(directory / "medic.db"),
            "MEDIC_BASE_URL": self.url,
            "MEDIC_ALLOWED_WEBHOOK_HOSTS": "127.0.0.1",
            "MEDIC_RATE_LIMIT_MANAGEMENT": "100000",
            **env,
        }
        self.admin: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.directory / f"up-{self.starts}.log"
        with log.open("wb") as output:
            process = self.process = subprocess.Popen(
                [MEDIC, "up", "--host", "127.0.0.1", "--port", str(self.port)],
                env=clean_env(**self.env),
                cwd=self.directory,
                stdout=output,
                stderr=output,
            )

        def serving() -> bool:
            assert process.poll() is None, log.read_text()
            return "Application startup complete" in log.read_text(errors="replace")

        wait_for("medic up serving", serving, 60)
        key = re.search(r"^\s+(mdk_\S+)\s*$", log.read_text(), re.M)
        if key is not None:
            self.admin = {"Authorization": f"Bearer {key.group(1)}"}

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A REST call as the first admin (or with the `headers` given)."""
        headers = {**self.admin, **kwargs.pop("headers", {})}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def results(self, method: str, path: str, **kwargs: Any) -> Any:
        """`call`, which must succeed; its `results`."""
        response = self.call(method, path, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response.json().get("results")


@pytest.fixture
def medic_up(tmp_path: Path, free_tcp_port: int) -> Iterator[MedicUp]:
    """A started `medic up` on this test's directory, stopped afterwards."""
    up = MedicUp(tmp_path, free_tcp_port)
    try:
        up.start()
        yield up
    finally:
        up.stop()
