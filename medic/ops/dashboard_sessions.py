"""Dashboard sessions: a browser signs in with an API key once and then holds a random
session token in a cookie. Server-side, so they are revocable: signing out deletes the
row, and a session is only valid while its key is live (not revoked, not expired) and
still has the prefix it had at sign in, so rotating or revoking the key ends its
sessions at once in every process, without a cache to wait for.

A session acts with its key's scopes, through the declared operations, as front door
`dashboard`. Signing in and out are operations too, so both are audited.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import col, delete, select

from medic.db import Database
from medic.models import ApiKey, DashboardSession
from medic.ops.actor import Actor
from medic.ops.operation import Call, Command, operation

LIFETIME = timedelta(hours=12)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session: who acts, and the CSRF token its forms must carry."""

    session_id: int
    actor: Actor
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewSession:
    """The session token (for the cookie, shown nowhere else) and when it ends."""

    token: str
    csrf_token: str
    expires_at: datetime


class StartSession(Command):
    """Sign in as the acting key (the door has verified it)."""


class EndSession(Command):
    session_id: int


@operation("dashboard.sign_in", scope="read", audit="dashboard.sign_in")
def sign_in(call: Call, _command: StartSession) -> NewSession:
    """A new session for the acting key; it ends after LIFETIME, or when its key does."""
    actor = call.actor
    assert actor.api_key_id is not None, "a session belongs to an API key"
    key = call.session.get(ApiKey, actor.api_key_id)
    assert key is not None
    now = datetime.now(UTC)
    expires_at = now + LIFETIME
    if key.expires_at is not None:
        expires_at = min(expires_at, key.expires_at)
    token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    call.session.exec(delete(DashboardSession).where(col(DashboardSession.expires_at) <= now))
    row = DashboardSession(
        token_hash=token_hash(token),
        api_key_id=actor.api_key_id,
        key_prefix=key.prefix,
        csrf_token=csrf_token,
        created_at=now,
        expires_at=expires_at,
    )
    call.session.add(row)
    call.session.flush()
    call.audit("dashboard_session", row.session_id, expires_at=expires_at.isoformat())
    return NewSession(token, csrf_token, expires_at)


@operation("dashboard.sign_out", scope="read", audit="dashboard.sign_out")
def sign_out(call: Call, command: EndSession) -> None:
    """Only the acting key's own session; signing out twice changes nothing."""
    deleted = call.session.exec(
        delete(DashboardSession)
        .where(col(DashboardSession.session_id) == command.session_id)
        .where(col(DashboardSession.api_key_id) == call.actor.api_key_id)
    )
    if deleted.rowcount:
        call.audit("dashboard_session", command.session_id)
    else:
        call.unchanged()


def find_session(db: Database, token: str | None) -> SignedIn | None:
    """The live session a cookie's token names, with its key's identity; one indexed
    query. None for no token, an unknown or expired one, or a key that has since been
    revoked, rotated or has expired."""
    if not token or len(token) > 128:
        return None
    now = datetime.now(UTC)
    with db.session() as session:
        found = session.exec(
            select(DashboardSession, ApiKey)
            .join(ApiKey, col(ApiKey.api_key_id) == col(DashboardSession.api_key_id))
            .where(DashboardSession.token_hash == token_hash(token))
        ).first()
    if found is None:
        return None
    row, key = found
    alive = (
        row.expires_at > now
        and key.revoked_at is None
        and (key.expires_at is None or key.expires_at > now)
        and key.prefix == row.key_prefix
    )
    if not alive or row.session_id is None:
        return None
    actor = Actor(key.name, "dashboard", frozenset(key.scopes), key.api_key_id)
    return SignedIn(row.session_id, actor, row.csrf_token, row.expires_at)
