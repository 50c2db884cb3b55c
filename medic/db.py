"""The one engine and session factory for a process.

SQLite (the embedded default) gets WAL and foreign keys on every connection, and
every transaction takes the write lock when it begins (BEGIN IMMEDIATE): the API,
the ingest writer and the scheduler all read-then-write, and a deferred transaction
that read before another committed cannot write at all (SQLITE_BUSY). Every
statement is timed into `medic_db_query_duration_seconds`, and connection failures
count into `medic_db_connection_errors_total`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import Session

from medic.config import Settings
from medic.metrics import DB_CONNECTION_ERRORS, DB_QUERY_DURATION
from medic.scheduler.wakeup import CHANNEL, Wakeup

SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000")


def make_engine(settings: Settings, pre_ping: bool = True) -> Engine:
    """`pre_ping=False` saves a round trip per session where a failure is retried anyway
    (the worker: a dead connection fails one actor call, Dramatiq retries it, and the
    pool, invalidated by the disconnect, hands out fresh connections)."""
    url = settings.sqlalchemy_url
    if settings.is_sqlite:
        _make_sqlite_directory(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
    else:
        engine = create_engine(
            url,
            pool_pre_ping=pre_ping,
            pool_size=settings.redis_pool_size + 5,
            max_overflow=20,
            connect_args={"connect_timeout": 5},
        )
    _instrument(engine, settings.is_sqlite)
    return engine


def make_async_engine(settings: Settings) -> AsyncEngine:
    """For the heartbeat hot path: async I/O on the event loop, no thread to wait on the GIL."""
    url = settings.sqlalchemy_url
    if settings.is_sqlite:
        _make_sqlite_directory(url)
        engine = create_async_engine(
            url.replace("sqlite://", "sqlite+aiosqlite://", 1), connect_args={"timeout": 10}
        )
    else:
        # No pre-ping round trip per batch: a dead connection fails one batch (503, the
        # clients retry) and the pool replaces it.
        engine = create_async_engine(url, pool_size=2, connect_args={"connect_timeout": 5})
    _instrument(engine.sync_engine, settings.is_sqlite)
    return engine


def _make_sqlite_directory(url: str) -> None:
    path = url.split(":///", 1)[1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _instrument(engine: Engine, is_sqlite: bool) -> None:
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate)
    event.listen(engine, "before_cursor_execute", _start_timer)
    event.listen(engine, "after_cursor_execute", _stop_timer)
    event.listen(engine, "handle_error", _count_connection_error)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
    # The driver's own implicit BEGIN is off; _begin_immediate starts every transaction.
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _start_timer(
    conn: Any, _cursor: Any, _stmt: Any, _params: Any, context: Any, _many: Any
) -> None:
    context._medic_started = time.perf_counter()


def _stop_timer(
    conn: Any, _cursor: Any, _stmt: Any, _params: Any, context: Any, _many: Any
) -> None:
    DB_QUERY_DURATION.observe(time.perf_counter() - context._medic_started)


def _count_connection_error(context: ExceptionContext) -> None:
    if context.is_disconnect or context.connection is None:
        DB_CONNECTION_ERRORS.inc()


class Database:
    """Owns the engine; `session()` is the only way code gets a Session."""

    def __init__(self, settings: Settings, pre_ping: bool = True) -> None:
        self.settings = settings
        self.engine = make_engine(settings, pre_ping)
        self.wakeup = Wakeup()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def wake_scheduler(self, session: Session) -> None:
        """Once `session` commits, schedulers look at deadlines now (see medic.scheduler.wakeup)."""
        if self.dialect == "postgresql":
            session.exec(text("SELECT pg_notify(:channel, '')").bindparams(channel=CHANNEL))
        event.listen(session, "after_commit", lambda _session: self.wakeup.set(), once=True)

    def dispose(self) -> None:
        self.engine.dispose()
