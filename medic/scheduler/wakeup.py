"""Waking sleeping schedulers when a deadline moves earlier or something is due now.

Inside one process (`medic up`) an event does it. Across processes PostgreSQL's
LISTEN/NOTIFY does: a NOTIFY sent in a transaction is delivered at its commit, so a
scheduler never wakes for a change that then rolls back. Without a wake-up a
scheduler still looks every WORKER_INTERVAL_SECONDS; waking only makes it sooner.
"""

from __future__ import annotations

import logging
import threading

import psycopg

log = logging.getLogger(__name__)

CHANNEL = "medic_scheduler"


class Wakeup:
    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds; True when woken early."""
        woken = self._event.wait(max(0.0, timeout))
        self._event.clear()
        return woken


class PostgresListener:
    """A thread that turns NOTIFYs on CHANNEL into `wakeup.set()`, reconnecting as needed."""

    def __init__(self, conninfo: str, wakeup: Wakeup) -> None:
        self.conninfo = conninfo
        self.wakeup = wakeup
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="medic-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.wakeup.set()  # changes made while not listening: look once now
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.wakeup.set()
            except psycopg.Error as exc:
                log.warning("scheduler wake-up listener lost its connection: %s", exc)
                self._stopping.wait(2.0)
