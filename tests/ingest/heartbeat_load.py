"""Heartbeat load from outside a real `medic api` process, remembering every answer.

Each heartbeat carries a unique marker in its `message` (stored with the event), so a
test can check afterwards, heartbeat by heartbeat, that every one the API acknowledged
(2xx) is in the database, whatever was killed or restarted in between.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import threading
from collections import Counter
from pathlib import Path

import httpx
import psycopg

from tests.processes import MEDIC, free_port, wait_for


class Api:
    """`medic api --workers N` as its own process group, so SIGKILL takes the uvicorn
    supervisor and its workers down at once, as a crash of the machine's process would."""

    def __init__(self, database_url: str, log: Path, workers: int = 2) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.log = log
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "MEDIC_RATE_LIMITER_TYPE": "memory",
            "MEDIC_TIMEZONE": "UTC",
            "LOG_LEVEL": "INFO",
        }
        env.pop("REDIS_URL", None)
        command = [str(MEDIC), "api", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "--workers", str(self.workers)],
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        wait_for(f"medic api on port {self.port} (log: {self.log})", self._live, timeout=60)

    def _live(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"medic api exited: {self.log.read_text(errors='replace')}")
        try:
            return httpx.get(f"{self.base_url}/health/live", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole process group: nothing gets to finish or flush."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.running():
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


class HeartbeatLoad:
    """`clients` threads posting heartbeats round-robin over `services` without pause,
    each with a unique marker, until `stop()`. A request that got no answer (the API
    was down, or died while answering) counts as not acknowledged, like a non-2xx."""

    def __init__(self, api: Api, key: str, services: list[str], clients: int = 4) -> None:
        self.api = api
        self.key = key
        self.services = services
        self.clients = clients
        self.acknowledged: set[str] = set()
        self.sent: set[str] = set()
        self.failures: Counter[int | str] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> HeartbeatLoad:
        self._threads = [
            threading.Thread(target=self._client, args=(n,), daemon=True)
            for n in range(self.clients)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def acked(self) -> int:
        with self._lock:
            return len(self.acknowledged)

    def wait_for_more_acks(self, count: int, what: str, timeout: float = 60) -> None:
        """Return once `count` more heartbeats than now were acknowledged."""
        target = self.acked() + count
        wait_for(
            f"{count} more acknowledged heartbeats {what}", lambda: self.acked() >= target, timeout
        )

    def _client(self, number: int) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(timeout=15) as client:
            for sequence in itertools.count():
                if self._stopping.is_set():
                    return
                marker = f"client-{number}-{sequence}"
                body = {
                    "heartbeat_name": self.services[(number + sequence) % len(self.services)],
                    "status": "UP",
                    "message": marker,
                }
                with self._lock:
                    self.sent.add(marker)
                try:
                    response = client.post(
                        f"{self.api.base_url}/v2/heartbeats", json=body, headers=headers
                    )
                except httpx.HTTPError as exc:
                    outcome: int | str = type(exc).__name__
                else:
                    outcome = response.status_code
                acknowledged = isinstance(outcome, int) and 200 <= outcome < 300
                with self._lock:
                    if acknowledged:
                        self.acknowledged.add(marker)
                    else:
                        self.failures[outcome] += 1
                if not acknowledged:
                    # Down or refusing: back off a little, as a real client would.
                    self._stopping.wait(0.05)


def stored_markers(libpq_url: str) -> Counter[str]:
    """How often each marker is stored in heartbeat_events."""
    with psycopg.connect(libpq_url) as connection:
        rows = connection.execute(
            "SELECT message, count(*) FROM heartbeat_events GROUP BY message"
        ).fetchall()
    return Counter({message: count for message, count in rows})
