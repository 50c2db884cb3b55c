"""Bearer API keys on /mcp: the SDK's TokenVerifier over Medic's own key check (the
key's rate limit is in medic.mcp_server.rate_limit).

A key is verified exactly as the REST API verifies it (argon2 once, then the short
verified-key cache; revoked and expired keys refused). The access token carries the
key's name, id and scopes; tools turn it back into an Actor at the `mcp` front door,
and the operations layer checks the scope each action needs.
"""

from __future__ import annotations

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken, TokenVerifier

from medic.core.scopes import SCOPES, grants
from medic.mcp_server.backend import FRONT_DOOR
from medic.metrics import AUTH_FAILURES
from medic.ops.actor import Actor
from medic.ops.errors import RateLimited, Unauthorized
from medic.ops.keys import KeyIdentity
from medic.process import MedicProcess
from medic.web.identity import identify

# Every key may connect; each tool's operation then asks for read, write or admin.
REQUIRED_SCOPE = "read"


def access_token(presented: str, identity: KeyIdentity) -> AccessToken:
    """Scopes are spelled out (an admin key is read, write and admin) because the SDK
    compares them literally; the key's own scopes travel in the claims."""
    return AccessToken(
        token=presented,
        client_id=identity.name,
        subject=identity.name,
        scopes=[scope for scope in SCOPES if grants(identity.scopes, scope)],
        expires_at=int(identity.expires_at.timestamp()) if identity.expires_at else None,
        claims={"api_key_id": identity.api_key_id, "key_scopes": sorted(identity.scopes)},
    )


class ApiKeyVerifier(TokenVerifier):
    def __init__(self, medic: MedicProcess) -> None:
        self.medic = medic

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            identity = await identify(self.medic, token)
        except Unauthorized as exc:
            AUTH_FAILURES.labels(exc.reason).inc()
            return None
        except RateLimited:  # too many verifications at once: KeyRateLimit answers 429
            return None
        return access_token(token, identity)


def token_actor() -> Actor:
    """The Actor of the key on the current HTTP request."""
    token = get_access_token()
    if token is None:
        raise Unauthorized("an API key is required (Authorization: Bearer <key>)", "missing")
    claims = token.claims or {}
    return Actor(
        name=token.client_id,
        front_door=FRONT_DOOR,
        scopes=frozenset(claims.get("key_scopes", ())),
        api_key_id=claims.get("api_key_id"),
    )
