"""Who is calling an HTTP door, and how fast: the presented key, its identity (argon2
verification: cached, single-flight, only for a live key's prefix, a bounded number at
once), failed authentications limited per client address, the rate limit, and the door
a client names."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from medic.metrics import RATE_LIMITED
from medic.ops.actor import CLIENT_DOORS
from medic.ops.errors import RateLimited, Unauthorized
from medic.ops.keys import (
    KeyIdentity,
    Lookup,
    VerifiedKeyCache,
    authenticate_cached,
    judge_key,
    known_key,
    lookup_prefix,
    missing_key,
    split_key,
    verify_live_key,
)
from medic.process import MedicProcess
from medic.ratelimit import AUTH_FAILURES
from medic.web.headers import header
from medic.web.middleware import set_rate_limit_headers

T = TypeVar("T")


def client_door(request: Request) -> str:
    """`cli` when the CLI says so (X-Medic-Client), else `api`."""
    door = (header(request.scope, b"x-medic-client") or "").strip().lower()
    return door if door in CLIENT_DOORS else "api"


def presented_key(request: Request) -> str | None:
    authorization = header(request.scope, b"authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return header(request.scope, b"x-api-key") or None


def client_address(request: Request) -> str:
    """The peer's address: behind a proxy, uvicorn takes it from X-Forwarded-For when the
    proxy is trusted (FORWARDED_ALLOW_IPS), else every client is the proxy."""
    return request.client.host if request.client else "unknown"


async def identify(
    medic: MedicProcess, presented: str | None, client: str | None = None
) -> KeyIdentity:
    """The key's identity, or Unauthorized. Costs nothing for a key seen within the cache
    time, valid or not. Otherwise its prefix is looked up (once for all concurrent
    requests naming it, then cached), and only a live key's prefix leads to argon2: once
    for all concurrent requests with the same key, on one of MEDIC_KEY_VERIFICATIONS
    slots (medic.web.verification_slots).

    With `client` (an address), failures count against it: once it has failed
    MEDIC_RATE_LIMIT_AUTH_FAILURES times in a minute, a key not already verified gets
    429 before anything else. And one address has at most a few keys being looked up or
    verified at once (more: 429 at once), so a burst from one client, sent before its
    failures are counted, cannot fill the verification queue for everyone."""
    if not presented:
        raise missing_key()
    cached = authenticate_cached(medic.key_cache, presented)
    if cached is not None:
        return cached
    if client is not None:
        await _refuse_a_failing_client(medic, client)
    try:
        known = known_key(medic.key_cache, presented)
        if isinstance(known, KeyIdentity):
            return known
        fingerprint = VerifiedKeyCache.fingerprint(presented)
        with medic.key_verification_slots.for_client(client, fingerprint):
            return await _single_flight(medic, fingerprint, _verify(medic, presented))
    except Unauthorized:
        if client is not None:
            await medic.limiter.hit(AUTH_FAILURES, f"ip:{client}")
        raise


async def _refuse_a_failing_client(medic: MedicProcess, client: str) -> None:
    state = await medic.limiter.exceeded(AUTH_FAILURES, f"ip:{client}")
    if state is not None:
        RATE_LIMITED.labels(AUTH_FAILURES).inc()
        raise RateLimited(
            f"too many failed authentications from this address ({state.limit} a minute); "
            f"retry after {state.headers()['Retry-After']} s",
            state.headers(),
        )


async def _single_flight(medic: MedicProcess, key: str, work: Coroutine[Any, Any, T]) -> T:
    """Concurrent requests for the same work share one run of it: after a restart, a busy
    client's connections would otherwise each pay argon2 at once, and a flood naming one
    prefix would each look it up."""
    pending = medic.key_verifications.get(key)
    if pending is None or pending.get_loop() is not asyncio.get_running_loop():
        pending = asyncio.ensure_future(work)
        medic.key_verifications[key] = pending
        pending.add_done_callback(lambda _: medic.key_verifications.pop(key, None))
    else:
        work.close()
    return await asyncio.shield(pending)


async def _verify(medic: MedicProcess, presented: str) -> KeyIdentity:
    cache = medic.key_cache
    found = known_key(cache, presented)
    if found is None:
        prefix = split_key(presented)
        assert prefix is not None  # known_key refuses a malformed key
        looked_up = await _single_flight(medic, f"prefix:{prefix}", _lookup(medic, prefix))
        found = judge_key(cache, presented, looked_up)
    if isinstance(found, KeyIdentity):
        return found
    return await medic.key_verification_slots.run(verify_live_key, cache, presented, found)


async def _lookup(medic: MedicProcess, prefix: str) -> Lookup:
    found = await run_in_threadpool(lookup_prefix, medic.db, prefix)
    medic.key_cache.remember_lookup(prefix, found)
    return found


async def enforce_rate_limit(
    request: Request,
    medic: MedicProcess,
    bucket: str,
    identity: str,
    per_minute: int | None,
    cost: int = 1,
) -> None:
    state = await medic.limiter.hit(bucket, identity, per_minute, cost)
    set_rate_limit_headers(request.scope, state.headers())
    if not state.allowed:
        RATE_LIMITED.labels(bucket).inc()
        raise RateLimited(
            f"rate limit of {state.limit} {bucket} requests per minute exceeded; "
            f"retry after {state.headers()['Retry-After']} s",
            state.headers(),
        )
