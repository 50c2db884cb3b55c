"""Who is calling, may they, and how fast: API key auth, scopes, rate limits.

Routes declare `actor: Actor = Depends(authenticated("ingest", HEARTBEATS))`; the scope a
route asks for is the scope its operation declares (medic.core.scopes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from medic.metrics import AUTH_FAILURES
from medic.ops.actor import Actor
from medic.ops.errors import Forbidden
from medic.process import MedicProcess
from medic.ratelimit import HEARTBEATS, MANAGEMENT
from medic.web.identity import (
    client_address,
    client_door,
    enforce_rate_limit,
    identify,
    presented_key,
)

# Anonymous v1 heartbeats (MEDIC_V1_ANONYMOUS_HEARTBEATS): posting heartbeats and nothing else.
ANONYMOUS_V1 = Actor(name="anonymous-v1", front_door="api", scopes=frozenset({"ingest"}))


async def get_medic(request: Request) -> MedicProcess:
    """Async on purpose: a plain `def` dependency would cost a threadpool hop per request."""
    return request.app.state.medic


def authenticated(
    scope: str, bucket: str = MANAGEMENT, anonymous_v1: bool = False
) -> Callable[[Request], Awaitable[Actor]]:
    async def dependency(request: Request) -> Actor:
        medic: MedicProcess = request.app.state.medic
        presented = presented_key(request)
        if presented is None and anonymous_v1 and medic.settings.medic_v1_anonymous_heartbeats:
            client = request.client.host if request.client else "unknown"
            await enforce_rate_limit(request, medic, bucket, f"ip:{client}", None)
            return ANONYMOUS_V1
        identity = await identify(medic, presented, client_address(request))
        actor = identity.actor(client_door(request))
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
# Heartbeats and job signals: `ingest` (held by write and admin keys too, never by read).
heartbeat_access = authenticated("ingest", HEARTBEATS)
