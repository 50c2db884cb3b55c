"""`monitor`: report a job's runs around Python code, as a decorator or a context
manager, sync or async. Start, then complete with the duration or fail with the
exception's type and message; the exception still propagates, and a Medic that cannot
be reached never stops or fails the job (unless its client has `raise_errors=True`)."""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

from medic.client.async_client import AsyncClient
from medic.client.calls import Call, Duration, Job, MonitorConfig
from medic.client.sync_client import Client

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Run:
    """The run in progress: `with monitor(...) as run`. Set `run.message` to add a line
    (rows processed, a file name) to what is reported when it ends."""

    run_id: str
    started: float = field(default_factory=time.monotonic)
    message: str | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self.started


class monitor:
    """Report each run of a job to Medic, by `name` (MEDIC_URL and MEDIC_API_KEY, or
    `client`) or at `ping_url`. `schedule` (cron expression or interval such as '1h'),
    `timezone`, `max_runtime` and `grace` (seconds, timedelta or '30m') are sent with
    the start so a `write` key creates or updates the service."""

    def __init__(
        self,
        name: str | None = None,
        *,
        ping_url: str | None = None,
        schedule: str | None = None,
        timezone: str | None = None,
        max_runtime: Duration | None = None,
        grace: Duration | None = None,
        client: Client | AsyncClient | None = None,
    ) -> None:
        config = MonitorConfig.of(schedule, timezone, max_runtime, grace)
        self.job = Job(name=name, ping_url=ping_url, monitor=config)
        self.client = client
        self._runs: list[tuple[Run, Client | AsyncClient | None]] = []

    def _copy(self) -> monitor:
        """Each call of a decorated function reports a run of its own."""
        fresh = object.__new__(monitor)
        fresh.job, fresh.client, fresh._runs = self.job, self.client, []
        return fresh

    def __call__(self, function: F) -> F:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                async with self._copy():
                    return await function(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self._copy():
                return function(*args, **kwargs)

        return run  # type: ignore[return-value]

    def _end(self, run: Run, exc: BaseException | None) -> Call:
        took = f"{run.elapsed():.3f} s"
        if exc is None or (isinstance(exc, SystemExit) and exc.code in (0, None)):
            message = f"completed in {took}"
            ok = True
        else:
            detail = str(exc)
            message = f"{type(exc).__name__}{': ' + detail if detail else ''} (after {took})"
            ok = False
        if run.message:
            message = f"{message}\n{run.message}"
        return self.job.end(run.run_id, ok, message)

    def __enter__(self) -> Run:
        if isinstance(self.client, AsyncClient):
            raise TypeError("this monitor has an AsyncClient: use `async with`")
        owned = None if self.client is not None else Client()
        client = self.client or owned
        assert isinstance(client, Client)
        run = Run(uuid.uuid4().hex)
        self._runs.append((run, owned))
        client.send(self.job.start(run.run_id))
        run.started = time.monotonic()
        return run

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        run, owned = self._runs.pop()
        client = self.client or owned
        assert isinstance(client, Client)
        try:
            client.send(self._end(run, exc))
        finally:
            if owned is not None:
                owned.close()

    async def __aenter__(self) -> Run:
        owned = None if self.client is not None else AsyncClient()
        run = Run(uuid.uuid4().hex)
        self._runs.append((run, owned))
        await self._send(self.client or owned, self.job.start(run.run_id))
        run.started = time.monotonic()
        return run

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        run, owned = self._runs.pop()
        try:
            await self._send(self.client or owned, self._end(run, exc))
        finally:
            if isinstance(owned, AsyncClient):
                await owned.aclose()

    @staticmethod
    async def _send(client: Client | AsyncClient | None, call: Call) -> None:
        if isinstance(client, AsyncClient):
            await client.send(call)
        elif isinstance(client, Client):
            await asyncio.to_thread(client.send, call)
