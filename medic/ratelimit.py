"""Per-key rate limits (SRE-8) on the `limits` library, in Redis or in memory.

Three buckets per key: heartbeats (default 100/min) and management (300/min), each
overridable per key, and MCP tool calls (120/min; medic.mcp_server.rate_limit says
what counts), and one per client address: failed authentications (default 30/min).
`MEDIC_RATE_LIMITER_TYPE=auto` uses Redis when `REDIS_URL` answers at start-up, else
memory (memory limits are per process, so replicas need Redis).

The same storage remembers signed hook requests already accepted (`first_use`), so a
signature is accepted once across replicas that share Redis.

Every key carries the deployment's namespace (`MEDIC_RATE_LIMIT_NAMESPACE`; by default
the broker namespace and a digest of the database's location): two deployments on one
Redis never share counters, and replicas of one deployment always do.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from limits.storage import storage_from_string
from sqlalchemy.engine import make_url

from medic.config import Settings

log = logging.getLogger(__name__)

HEARTBEATS = "heartbeats"
MANAGEMENT = "management"
MCP_TOOLS = "mcp_tools"
AUTH_FAILURES = "auth_failures"


@dataclass(frozen=True, slots=True)
class RateLimitState:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(self.reset_at)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, int(self.reset_at - time.time()) + 1))
        return headers


def choose_backend(settings: Settings) -> str:
    """'redis' or 'memory', following MEDIC_RATE_LIMITER_TYPE."""
    wanted = settings.medic_rate_limiter_type
    if wanted == "memory":
        return "memory"
    if wanted == "redis":
        if not settings.redis_url:
            raise ValueError("MEDIC_RATE_LIMITER_TYPE=redis needs REDIS_URL")
        return "redis"
    if settings.redis_url and redis_answers(settings.redis_url):
        return "redis"
    return "memory"


def redis_answers(url: str) -> bool:
    # Imported here: redis (with its telemetry and cluster modules) costs a process about
    # 7 MB, and a Medic without REDIS_URL never needs it.
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def rate_limit_namespace(settings: Settings) -> str:
    """MEDIC_RATE_LIMIT_NAMESPACE, else the broker namespace (replicas share it, or their
    queues would not be shared either) and a digest of where the database is (dialect,
    host, port, database; never the credentials): what makes two deployments two."""
    if settings.medic_rate_limit_namespace:
        return settings.medic_rate_limit_namespace
    url = make_url(settings.sqlalchemy_url)
    where = f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}"
    digest = hashlib.sha256(where.encode()).hexdigest()[:12]
    return f"{settings.medic_broker_namespace}-{digest}"


class MemoryWindows:
    """Fixed-window counters in this process, as `limits`' memory storage keeps them: a
    window opens with its first hit and lasts its length, then the count starts over.
    Plain dict updates (one event loop, no awaits); expired windows are swept once a
    minute, so addresses seen once do not pile up."""

    SWEEP_SECONDS = 60.0

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}
        self._next_sweep = time.time() + self.SWEEP_SECONDS

    def hit(self, key: str, seconds: int, cost: int = 1) -> tuple[int, float]:
        """The count after this hit, and when the window ends (epoch seconds)."""
        now = time.time()
        if now >= self._next_sweep:
            self._sweep(now)
        count, reset_at = self._windows.get(key, (0, 0.0))
        if reset_at <= now:
            count, reset_at = 0, now + seconds
        count += cost
        self._windows[key] = (count, reset_at)
        return count, reset_at

    def count(self, key: str) -> tuple[int, float]:
        """The count so far and when the window ends (now when there is none)."""
        now = time.time()
        count, reset_at = self._windows.get(key, (0, 0.0))
        return (count, reset_at) if reset_at > now else (0, now)

    def _sweep(self, now: float) -> None:
        self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
        self._next_sweep = now + self.SWEEP_SECONDS


class RateLimiter:
    def __init__(self, settings: Settings, key_prefix: str | None = None) -> None:
        self.backend = choose_backend(settings)
        self.defaults = {
            HEARTBEATS: settings.medic_rate_limit_heartbeats,
            MANAGEMENT: settings.medic_rate_limit_management,
            MCP_TOOLS: settings.medic_rate_limit_mcp_tools,
            AUTH_FAILURES: settings.medic_rate_limit_auth_failures,
        }
        self.namespace = rate_limit_namespace(settings)
        prefix = f"{key_prefix or 'medic-ratelimit'}:{self.namespace}"
        if self.backend == "redis":
            assert settings.redis_url
            uri = "async+" + settings.redis_url
            self.storage = storage_from_string(
                uri,
                implementation="redispy",
                key_prefix=prefix,
                max_connections=settings.redis_pool_size,
            )
        else:
            self.storage = storage_from_string("async+memory://")
        # Fixed windows in memory are counted here; `limits`' memory storage takes locks
        # and schedules an expiry task on every hit (its moving windows still serve
        # first_use).
        self.windows = MemoryWindows() if self.backend == "memory" else None
        self.strategy = FixedWindowRateLimiter(self.storage)
        # Exact (a timestamp per hit): "once in this window" must hold at window edges too.
        self.moving = MovingWindowRateLimiter(self.storage)
        self._items: dict[int, RateLimitItemPerMinute] = {}
        log.info("rate limits stored in %s (namespace %s)", self.backend, self.namespace)

    def _item(self, per_minute: int) -> RateLimitItemPerMinute:
        item = self._items.get(per_minute)
        if item is None:
            item = self._items[per_minute] = RateLimitItemPerMinute(per_minute)
        return item

    async def hit(
        self, bucket: str, identity: str, per_minute: int | None = None, cost: int = 1
    ) -> RateLimitState:
        """Count a hit and say whether it was allowed: one step in memory, and in Redis
        two round trips (the count the increment returns, the window's expiry)."""
        item = self._item(per_minute or self.defaults[bucket])
        key = item.key_for(bucket, identity)
        if self.windows is not None:
            count, reset_at = self.windows.hit(key, item.get_expiry(), cost)
        else:
            count = await self.storage.incr(key, item.get_expiry(), amount=cost)
            reset_at = await self.storage.get_expiry(key)
        return RateLimitState(
            count <= item.amount, item.amount, max(0, item.amount - count), reset_at
        )

    async def exceeded(
        self, bucket: str, identity: str, per_minute: int | None = None
    ) -> RateLimitState | None:
        """The refusing state when `identity` has used up its `bucket` (nothing is counted),
        else None."""
        item = self._item(per_minute or self.defaults[bucket])
        if self.windows is not None:
            count, reset_at = self.windows.count(item.key_for(bucket, identity))
            if count < item.amount:
                return None
            return RateLimitState(False, item.amount, 0, reset_at)
        if await self.strategy.test(item, bucket, identity):
            return None
        stats = await self.strategy.get_window_stats(item, bucket, identity)
        return RateLimitState(False, item.amount, stats.remaining, stats.reset_time)

    async def first_use(self, kind: str, token: str, within_seconds: int) -> bool:
        """True the first time `token` is presented within `within_seconds`, False after:
        one hit per token in a moving window, in the shared storage."""
        item = RateLimitItemPerSecond(1, within_seconds)
        return await self.moving.hit(item, "once", kind, token)
