"""The blocking client: heartbeats, job runs and ping URLs, retried within a budget."""

from __future__ import annotations

import time
import uuid
from types import TracebackType
from typing import Any

import httpx

from medic.client.base import FATAL_ERRORS, ClientBase
from medic.client.calls import Call, MonitorConfig, heartbeat_call, ping_call
from medic.client.report import Report


class Client(ClientBase):
    """`Client(url, key)`; every method returns a Report and never raises unless the
    client was made with `raise_errors=True`. Usable as a context manager (closes its
    connections)."""

    def __init__(self, url: str | None = None, key: str | None = None, **options: Any) -> None:
        super().__init__(url, key, **options)
        self._http = httpx.Client()

    def heartbeat(
        self,
        name: str,
        status: str = "UP",
        *,
        run_id: str | None = None,
        message: str | None = None,
        monitor: MonitorConfig | None = None,
    ) -> Report:
        return self.send(heartbeat_call(name, status, run_id, message, monitor))

    def start(
        self,
        name: str,
        run_id: str | None = None,
        *,
        message: str | None = None,
        monitor: MonitorConfig | None = None,
    ) -> Report:
        """A run started; without `run_id` a fresh one is made (see `Report.run_id`)."""
        run_id = run_id or uuid.uuid4().hex
        return self.send(heartbeat_call(name, "STARTED", run_id, message, monitor))

    def complete(
        self, name: str, run_id: str | None = None, *, message: str | None = None
    ) -> Report:
        return self.send(heartbeat_call(name, "COMPLETED", run_id, message))

    def fail(self, name: str, run_id: str | None = None, *, message: str | None = None) -> Report:
        return self.send(heartbeat_call(name, "FAILED", run_id, message))

    def ping(
        self,
        url: str,
        signal: str | int | None = None,
        *,
        run_id: str | None = None,
        message: str | None = None,
    ) -> Report:
        """A ping URL: success, or `signal` "start", "fail" or an exit status."""
        return self.send(ping_call(url, signal, run_id, message))

    def send(self, call: Call) -> Report:
        attempts = self.retry.attempts(self.timeout)
        request = self._request(call)
        while True:
            wait: float | None = None
            try:
                response = self._http.request(**request, timeout=attempts.request_timeout())
            except FATAL_ERRORS as exc:
                return self._settle(self._unreached(call, exc, attempts.made))
            except httpx.TransportError as exc:
                report = self._unreached(call, exc, attempts.made)
            else:
                report, wait = self._answered(call, response, attempts.made)
                if self._final(report):
                    return self._settle(report)
            pause = attempts.pause(wait)
            if pause is None:
                return self._settle(report)
            time.sleep(pause)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
