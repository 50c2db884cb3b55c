"""MedicProcess: everything one running Medic process shares (settings, database, ingest
writer, key cache, rate limiter). Doors get it from the app state and ask it for the
operations Context: `medic.context(actor)`."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from medic.config import Settings
from medic.db import Database, make_async_engine
from medic.ingest.writer import IngestWriter
from medic.ops.actor import Actor
from medic.ops.keys import VerifiedKeyCache
from medic.ops.operation import Context
from medic.ratelimit import RateLimiter
from medic.web.verification_slots import VerificationSlots

log = logging.getLogger(__name__)


class MedicProcess:
    def __init__(self, settings: Settings, rate_limit_prefix: str | None = None) -> None:
        self.settings = settings
        self.db = Database(settings)
        self.writer = IngestWriter(
            make_async_engine(settings),
            settings.medic_timezone,
            settings.medic_ingest_batch_size,
            postgres_conninfo=None if settings.is_sqlite else settings.libpq_url,
            wakeup=self.db.wakeup,
        )
        self.key_cache = VerifiedKeyCache(settings.medic_key_cache_seconds)
        # In-flight key work shared by concurrent requests (medic.web.identity): argon2
        # verifications by key fingerprint, prefix lookups by `prefix:<prefix>`.
        self.key_verifications: dict[str, asyncio.Future[Any]] = {}
        self.key_verification_slots = VerificationSlots(settings.medic_key_verifications)
        self.limiter = RateLimiter(settings, rate_limit_prefix)

    def context(self, actor: Actor) -> Context:
        """What a door hands an operation: this process's database and key cache, and
        who acts."""
        return Context(self.db, actor, self.key_cache)

    async def start(self) -> None:
        await self.writer.start()

    async def stop(self) -> None:
        await self.writer.stop()
        self.db.dispose()
