"""Who is calling, may they, and how fast: API key auth, scopes, rate limits.

Routes declare `actor: Actor = Depends(authenticated("write", HEARTBEATS))`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from medic.api.middleware import set_rate_limit_headers
from medic.metrics import AUTH_FAILURES, RATE_LIMITED
from medic.ops.actor import Actor
from medic.ops.errors import Forbidden, RateLimited
from medic.ops.keys import KeyIdentity, VerifiedKeyCache, authenticate, authenticate_cached
from medic.ratelimit import HEARTBEATS, MANAGEMENT
from medic.runtime import Medic

ANONYMOUS_V1 = Actor(name="anonymous-v1", front_door="api", scopes=frozenset({"write"}))


async def get_medic(request: Request) -> Medic:
    """Async on purpose: a plain `def` dependency would cost a threadpool hop per request."""
    return request.app.state.medic


def presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return request.headers.get("x-api-key") or None


async def identify(medic: Medic, presented: str | None) -> KeyIdentity:
    """The cached identity, else one argon2 verification in a thread. Concurrent requests
    with the same uncached key share that one verification (single flight): after a
    restart, a busy client's connections would otherwise each pay argon2's 0.3 s at once."""
    cached = authenticate_cached(medic.key_cache, presented) if presented else None
    if cached is not None:
        return cached
    if not presented:
        return authenticate(medic.db, medic.key_cache, presented)
    fingerprint = VerifiedKeyCache.fingerprint(presented)
    pending = medic.key_verifications.get(fingerprint)
    if pending is None:
        pending = asyncio.ensure_future(
            run_in_threadpool(authenticate, medic.db, medic.key_cache, presented)
        )
        medic.key_verifications[fingerprint] = pending
        pending.add_done_callback(lambda _: medic.key_verifications.pop(fingerprint, None))
    return await asyncio.shield(pending)


async def enforce_rate_limit(
    request: Request, medic: Medic, bucket: str, identity: str, per_minute: int | None
) -> None:
    state = await medic.limiter.hit(bucket, identity, per_minute)
    set_rate_limit_headers(request.scope, state.headers())
    if not state.allowed:
        RATE_LIMITED.labels(bucket).inc()
        raise RateLimited(
            f"rate limit of {state.limit} {bucket} requests per minute exceeded; "
            f"retry after {state.headers()['Retry-After']} s",
            state.headers(),
        )


def authenticated(
    scope: str, bucket: str = MANAGEMENT, anonymous_v1: bool = False
) -> Callable[[Request], Awaitable[Actor]]:
    async def dependency(request: Request) -> Actor:
        medic: Medic = request.app.state.medic
        presented = presented_key(request)
        if presented is None and anonymous_v1 and medic.settings.medic_v1_anonymous_heartbeats:
            client = request.client.host if request.client else "unknown"
            await enforce_rate_limit(request, medic, bucket, f"ip:{client}", None)
            return ANONYMOUS_V1
        identity = await identify(medic, presented)
        actor = identity.actor("api")
        try:
            actor.require(scope)
        except Forbidden:
            AUTH_FAILURES.labels("scope").inc()
            raise
        per_minute = (
            identity.heartbeat_rate_limit
            if bucket == HEARTBEATS
            else identity.management_rate_limit
        )
        await enforce_rate_limit(request, medic, bucket, f"key:{identity.api_key_id}", per_minute)
        return actor

    return dependency


read_access = authenticated("read")
write_access = authenticated("write")
admin_access = authenticated("admin")
heartbeat_access = authenticated("write", HEARTBEATS)
