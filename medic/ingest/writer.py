"""Heartbeat ingest with group commit.

"201 means committed" costs one database commit per heartbeat if done naively,
which caps ingest far below what the web stack can serve. Instead every request
joins the next batch: one writer task takes whatever is queued, and in one
transaction resolves the services, inserts all events (multi-row), moves each
service's `last_heartbeat_at` / `next_due_at`, and commits. Only then is every
request in the batch answered. While a batch is being written the next one
fills up, so batches grow with load and latency stays about one commit. Under load
the writer also waits up to a few milliseconds for the clients it just answered to
come back, so batches stay full instead of alternating between one heartbeat and all
the rest (measured: 1 and 63 in turn, before).

The writer is a task on the event loop using async I/O (psycopg's async mode, or
aiosqlite): a writer thread has to win the GIL back from the busy event loop after
every round trip, and measured at about half this throughput (bench/ingest.py).
When a batch needs the scheduler now (a failure report, a recovery) the writer
wakes it after the commit (and on PostgreSQL, NOTIFY wakes other processes').
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg
from prometheus_client import Counter
from psycopg import AsyncConnection
from sqlalchemy.exc import OperationalError as SQLAlchemyOperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from medic.core.statuses import Status
from medic.ingest import postgres_batch, sqlalchemy_batch
from medic.ingest.batch import BeatRecorded, BeatRequest, Outcome, ServiceRef
from medic.ingest.known_services import KnownServices
from medic.metrics import HEARTBEATS
from medic.ops.errors import Unavailable
from medic.scheduler.wakeup import Wakeup

__all__ = ["BeatRecorded", "BeatRequest", "IngestWriter", "ServiceRef"]

log = logging.getLogger(__name__)

_Pending = tuple[BeatRequest, asyncio.Future]
# The counter's child per status, looked up once each (labels() takes a lock and builds a
# key); a status is exported once a heartbeat had it.
_BEATS_COUNTED: dict[Status, Counter] = {}
# A batch after one of at least this many waits up to LINGER_SECONDS for as many.
LINGER_AFTER_BATCHES_OF = 8
LINGER_SECONDS = 0.003
WRITE_ATTEMPTS = 3
RETRY_PAUSE_SECONDS = 0.02
# PostgreSQL's classes for "try again": serialization failure, deadlock, connection
# exceptions, operator intervention (e.g. a restart), insufficient resources.
_TRANSIENT_SQLSTATES = ("40001", "40P01")
_TRANSIENT_CLASSES = ("08", "57", "53")


def _count(status: Status, beats: int) -> None:
    counter = _BEATS_COUNTED.get(status)
    if counter is None:
        counter = _BEATS_COUNTED[status] = HEARTBEATS.labels(status.value)
    counter.inc(beats)


def _transient(error: BaseException) -> bool:
    """Worth retrying as is: the same statements may well succeed a moment later."""
    if isinstance(error, psycopg.OperationalError | OSError | SQLAlchemyOperationalError):
        return True
    sqlstate = getattr(error, "sqlstate", None) or getattr(
        getattr(error, "orig", None), "sqlstate", None
    )
    return bool(sqlstate) and (
        sqlstate in _TRANSIENT_SQLSTATES or sqlstate[:2] in _TRANSIENT_CLASSES
    )


class IngestWriter:
    """Owns the writer task. `await record(request)` returns once the beat is committed."""

    def __init__(
        self,
        engine: AsyncEngine,
        default_timezone: str,
        batch_size: int = 500,
        postgres_conninfo: str | None = None,
        wakeup: Wakeup | None = None,
    ) -> None:
        self.wakeup = wakeup
        self.engine = engine
        self.postgres_conninfo = postgres_conninfo
        self._postgres: AsyncConnection | None = None
        self._known = KnownServices()
        self.default_timezone = default_timezone
        self.batch_size = batch_size
        self._queue: asyncio.Queue[_Pending] | None = None
        self._enough: asyncio.Event | None = None
        self._enough_at = 0
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        if self._task is None:
            # Kept: asyncio.get_running_loop() costs a system call (getpid) per heartbeat.
            self._loop = asyncio.get_running_loop()
            self._queue = asyncio.Queue()
            self._enough = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="medic-ingest")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is not None and self._queue is not None:
            await self._queue.join()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._postgres is not None:
            await self._postgres.close()
            self._postgres = None
        await self.engine.dispose()

    async def record(self, request: BeatRequest) -> BeatRecorded:
        if self._queue is None or self._loop is None or self._task is None or self._task.done():
            raise Unavailable("heartbeat ingest is not running")
        future: asyncio.Future[BeatRecorded] = self._loop.create_future()
        self._queue.put_nowait((request, future))
        if self._enough_at and self._queue.qsize() >= self._enough_at:
            assert self._enough is not None
            self._enough.set()
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        previous = 0
        while True:
            batch = [await self._queue.get()]
            if previous >= LINGER_AFTER_BATCHES_OF:
                await self._linger(min(previous, self.batch_size))
            while len(batch) < self.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            previous = len(batch)
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _linger(self, expected: int) -> None:
        """Under load, wait a moment for the clients the last batch answered: they come
        back one by one as the event loop reads their requests, and a batch written at
        the first arrival holds one heartbeat and costs almost what a full one does."""
        assert self._queue is not None and self._enough is not None
        if self._queue.qsize() + 1 >= expected:
            return
        self._enough_at = expected - 1
        self._enough.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LINGER_SECONDS):
                await self._enough.wait()
        self._enough_at = 0

    async def _write(self, batch: list[_Pending]) -> None:
        requests = [request for request, _ in batch]
        outcomes, wake = await self._write_isolated(requests)
        if wake and self.wakeup is not None:
            self.wakeup.set()
        # Counted per status, once a batch: each count takes the metric's lock.
        stored: dict[Status, int] = {}
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BeatRecorded) and not (outcome.run and outcome.run.repeated):
                stored[outcome.status] = stored.get(outcome.status, 0) + 1
            if future.done():
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        for status, beats in stored.items():
            _count(status, beats)

    async def _write_isolated(self, requests: list[BeatRequest]) -> tuple[list[Outcome], bool]:
        """The batch, retried when the database had a passing problem (a deadlock, a
        serialization failure, a dropped connection); if it still fails, each request
        alone, so one bad heartbeat never changes another client's answer."""
        try:
            return await self._write_with_retries(requests)
        except Exception:
            if len(requests) == 1:
                log.exception("a heartbeat could not be stored; its client gets 503")
                return [Unavailable("the heartbeat could not be stored; retry")], False
        log.warning("a batch of %d heartbeats failed; writing them one by one", len(requests))
        outcomes: list[Outcome] = []
        wake = False
        for request in requests:
            [outcome], woke = await self._write_isolated([request])
            outcomes.append(outcome)
            wake = wake or woke
        return outcomes, wake

    async def _write_with_retries(self, requests: list[BeatRequest]) -> tuple[list[Outcome], bool]:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                return await self._write_batch(requests)
            except Exception as exc:
                await self._drop_postgres_connection()
                if attempt == WRITE_ATTEMPTS or not _transient(exc):
                    raise
                log.info("heartbeat batch attempt %d failed (%s); retrying", attempt, exc)
                await asyncio.sleep(RETRY_PAUSE_SECONDS * attempt)
        raise AssertionError("unreachable")

    async def _write_batch(self, requests: list[BeatRequest]) -> tuple[list[Outcome], bool]:
        if self.postgres_conninfo is None:
            async with self.engine.begin() as connection:
                return await connection.run_sync(
                    sqlalchemy_batch.write_batch, requests, self.default_timezone
                )
        if self._postgres is None or self._postgres.closed:
            self._postgres = await postgres_batch.connect(self.postgres_conninfo)
        return await postgres_batch.write_batch(
            self._postgres, requests, self.default_timezone, self._known
        )

    async def _drop_postgres_connection(self) -> None:
        """After a failure the connection may be broken; the next batch opens a new one."""
        if self._postgres is not None:
            with contextlib.suppress(Exception):
                await self._postgres.close()
            self._postgres = None
