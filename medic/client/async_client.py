"""The asyncio client: the same reports as Client, awaited."""

from __future__ import annotations

import asyncio
import uuid
from types import TracebackType
from typing import Any

import httpx

from medic.client.base import FATAL_ERRORS, ClientBase
from medic.client.calls import Call, MonitorConfig, heartbeat_call, ping_call
from medic.client.report import Report


class AsyncClient(ClientBase):
    """`AsyncClient(url, key)`: Client's methods as coroutines; `async with` closes it."""

    def __init__(self, url: str | None = None, key: str | None = None, **options: Any) -> None:
        super().__init__(url, key, **options)
        self._http = httpx.AsyncClient()

    async def heartbeat(
        self,
        name: str,
        status: str = "UP",
        *,
        run_id: str | None = None,
        message: str | None = None,
        monitor: MonitorConfig | None = None,
    ) -> Report:
        return await self.send(heartbeat_call(name, status, run_id, message, monitor))

    async def start(
        self,
        name: str,
        run_id: str | None = None,
        *,
        message: str | None = None,
        monitor: MonitorConfig | None = None,
    ) -> Report:
        run_id = run_id or uuid.uuid4().hex
        return await self.send(heartbeat_call(name, "STARTED", run_id, message, monitor))

    async def complete(
        self, name: str, run_id: str | None = None, *, message: str | None = None
    ) -> Report:
        return await self.send(heartbeat_call(name, "COMPLETED", run_id, message))

    async def fail(
        self, name: str, run_id: str | None = None, *, message: str | None = None
    ) -> Report:
        return await self.send(heartbeat_call(name, "FAILED", run_id, message))

    async def ping(
        self,
        url: str,
        signal: str | int | None = None,
        *,
        run_id: str | None = None,
        message: str | None = None,
    ) -> Report:
        return await self.send(ping_call(url, signal, run_id, message))

    async def send(self, call: Call) -> Report:
        attempts = self.retry.attempts(self.timeout)
        request = self._request(call)
        while True:
            wait: float | None = None
            try:
                response = await self._http.request(**request, timeout=attempts.request_timeout())
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
            await asyncio.sleep(pause)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
