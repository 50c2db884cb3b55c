"""Where long polls wait: one watcher per process, not one database connection per agent.

An agent's `GET /v2/agent/jobs?wait=30` that finds no job waits here on an asyncio
event, holding neither a worker thread nor a database connection. While any poll
waits, one task asks the database, once per `interval`, which of the waiting hosts
have a job queued (one indexed query for all of them) and wakes their polls. A job
queued by any process (a worker, another API replica) is seen within `interval`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import distinct
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from medic.db import Database
from medic.models import AgentJob

log = logging.getLogger(__name__)

CHUNK = 500


class JobBoard:
    def __init__(self, db: Database, interval: float = 1.0) -> None:
        self.db = db
        self.interval = interval
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._watcher: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return sum(len(events) for events in self._waiters.values())

    async def wait(self, host: str, timeout: float) -> bool:
        """Up to `timeout` seconds; True when a job for `host` may be there."""
        event = asyncio.Event()
        self._waiters.setdefault(host, set()).add(event)
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch())
        try:
            await asyncio.wait_for(event.wait(), max(0.0, timeout))
            return True
        except TimeoutError:
            return False
        finally:
            events = self._waiters.get(host)
            if events is not None:
                events.discard(event)
                if not events:
                    del self._waiters[host]

    def nudge(self, host: str) -> None:
        for event in self._waiters.get(host, ()):
            event.set()

    async def _watch(self) -> None:
        while self._waiters:
            await asyncio.sleep(self.interval)
            hosts = sorted(self._waiters)
            if not hosts:
                break
            try:
                ready = await run_in_threadpool(self._queued_hosts, hosts)
            except Exception:  # the database is away: the polls time out and come back
                log.warning("agent job board: cannot look for queued jobs", exc_info=True)
                continue
            for host in ready:
                self.nudge(host)

    def _queued_hosts(self, hosts: list[str]) -> set[str]:
        found: set[str] = set()
        with self.db.session() as session:
            for start in range(0, len(hosts), CHUNK):
                found.update(
                    session.exec(
                        select(distinct(AgentJob.host))
                        .where(AgentJob.state == "queued")
                        .where(col(AgentJob.host).in_(hosts[start : start + CHUNK]))
                    ).all()
                )
        return found

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
