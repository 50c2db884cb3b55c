"""Who is calling an HTTP door, and how fast: the presented key, its identity (argon2
verification, cached and single-flight), the rate limit, and the door a client names."""

from __future__ import annotations

import asyncio

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from medic.metrics import RATE_LIMITED
from medic.ops.actor import CLIENT_DOORS
from medic.ops.errors import RateLimited
from medic.ops.keys import KeyIdentity, VerifiedKeyCache, authenticate, authenticate_cached
from medic.process import MedicProcess
from medic.web.middleware import set_rate_limit_headers


def client_door(request: Request) -> str:
    """`cli` when the CLI says so (X-Medic-Client), else `api`."""
    door = request.headers.get("x-medic-client", "").strip().lower()
    return door if door in CLIENT_DOORS else "api"


def presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return request.headers.get("x-api-key") or None


async def identify(medic: MedicProcess, presented: str | None) -> KeyIdentity:
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
    request: Request, medic: MedicProcess, bucket: str, identity: str, per_minute: int | None
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
