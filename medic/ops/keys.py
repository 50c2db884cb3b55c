"""API keys (SRE-7): create, list, rotate, revoke, and authenticate a presented key.

A key looks like ``mdk_<prefix>_<secret>``. Only an argon2 hash of it is stored.
Argon2 is slow on purpose, so a presented key finds its row by the non-secret
prefix (one indexed lookup, no scan over hashes), and a successful verification is
cached for `MEDIC_KEY_CACHE_SECONDS` so heartbeat ingest does not pay for it on
every request. Revoking or rotating clears this process's cache at once; other
processes notice within the cache time.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select

from medic.core.names import clean_name
from medic.core.scopes import validate_scopes
from medic.db import Database
from medic.models import ApiKey
from medic.models.columns import utcnow
from medic.ops import audit
from medic.ops.actor import Actor
from medic.ops.errors import Conflict, InvalidInput, NotFound, Unauthorized

KEY_PREFIX = "mdk"
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_hasher = PasswordHasher()


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    """What a verified key lets its holder be: an Actor, plus its own rate limits."""

    api_key_id: int
    name: str
    scopes: frozenset[str]
    expires_at: datetime | None
    heartbeat_rate_limit: int | None
    management_rate_limit: int | None

    def actor(self, front_door: str = "api") -> Actor:
        return Actor(self.name, front_door, self.scopes, self.api_key_id)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key as created or rotated: the plaintext exists only here, shown once."""

    key: ApiKey
    plaintext: str


class VerifiedKeyCache:
    """sha256(presented key) -> identity, for a few seconds. Never holds a plaintext key."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, KeyIdentity]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def fingerprint(presented: str) -> str:
        return hashlib.sha256(presented.encode()).hexdigest()

    def get(self, presented: str) -> KeyIdentity | None:
        entry = self._entries.get(self.fingerprint(presented))
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, presented: str, identity: KeyIdentity) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[self.fingerprint(presented)] = (time.monotonic(), identity)

    def forget(self, api_key_id: int) -> None:
        with self._lock:
            for fingerprint, (_, identity) in list(self._entries.items()):
                if identity.api_key_id == api_key_id:
                    del self._entries[fingerprint]


def generate_key() -> tuple[str, str]:
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(12))
    return prefix, f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"


def split_key(presented: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1]


def _identity(row: ApiKey) -> KeyIdentity:
    assert row.api_key_id is not None
    return KeyIdentity(
        api_key_id=row.api_key_id,
        name=row.name,
        scopes=frozenset(row.scopes),
        expires_at=row.expires_at,
        heartbeat_rate_limit=row.heartbeat_rate_limit,
        management_rate_limit=row.management_rate_limit,
    )


def authenticate(db: Database, cache: VerifiedKeyCache, presented: str | None) -> KeyIdentity:
    """Identify a presented key or raise Unauthorized with the reason (for the metric)."""
    if not presented:
        raise Unauthorized(
            "an API key is required (Authorization: Bearer <key> or X-API-Key)", "missing"
        )
    cached = authenticate_cached(cache, presented)
    if cached is not None:
        return cached
    prefix = split_key(presented)
    if prefix is None:
        raise Unauthorized("invalid API key", "invalid")
    with db.session() as session:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if row is None:
        raise Unauthorized("invalid API key", "invalid")
    try:
        _hasher.verify(row.key_hash, presented)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("invalid API key", "invalid") from None
    if row.revoked_at is not None:
        raise Unauthorized("this API key has been revoked", "revoked")
    _check_not_expired(row.expires_at)
    identity = _identity(row)
    cache.put(presented, identity)
    return identity


def authenticate_cached(cache: VerifiedKeyCache, presented: str) -> KeyIdentity | None:
    """The fast path: a recently verified key, still unexpired, without touching the database."""
    cached = cache.get(presented)
    if cached is not None:
        _check_not_expired(cached.expires_at)
    return cached


def _check_not_expired(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise Unauthorized("this API key has expired", "expired")


def _validate_rate_limit(value: int | None, field: str) -> int | None:
    if value is not None and not 1 <= value <= 1_000_000_000:
        raise InvalidInput(f"{field} must be between 1 and 1000000000 requests per minute")
    return value


def create_key(
    db: Database,
    actor: Actor,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    heartbeat_rate_limit: int | None = None,
    management_rate_limit: int | None = None,
) -> IssuedKey:
    actor.require("admin")
    try:
        name = clean_name(name, "name")
        scopes = validate_scopes(scopes)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise InvalidInput("expires_at must be in the future")
    prefix, plaintext = generate_key()
    row = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=_hasher.hash(plaintext),
        scopes=scopes,
        expires_at=expires_at,
        heartbeat_rate_limit=_validate_rate_limit(heartbeat_rate_limit, "heartbeat_rate_limit"),
        management_rate_limit=_validate_rate_limit(management_rate_limit, "management_rate_limit"),
    )
    try:
        with db.session() as session:
            session.add(row)
            session.flush()
            audit.record(
                session,
                actor,
                "api_key.create",
                "api_key",
                row.api_key_id,
                name=name,
                scopes=scopes,
            )
    except IntegrityError:
        raise Conflict(f"an API key named {name!r} already exists") from None
    return IssuedKey(row, plaintext)


def list_keys(db: Database, actor: Actor) -> list[ApiKey]:
    actor.require("admin")
    with db.session() as session:
        return list(session.exec(select(ApiKey).order_by(col(ApiKey.api_key_id))).all())


def count_keys(db: Database) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(ApiKey)).one()


def _find(session: object, reference: int | str) -> ApiKey:
    statement = (
        select(ApiKey).where(ApiKey.api_key_id == reference)
        if isinstance(reference, int)
        else select(ApiKey).where(ApiKey.name == reference)
    )
    row = session.exec(statement).first()  # type: ignore[attr-defined]
    if row is None:
        raise NotFound(f"no API key {reference!r}")
    return row


def rotate_key(
    db: Database, cache: VerifiedKeyCache, actor: Actor, reference: int | str
) -> IssuedKey:
    """A new secret for the same name and scopes; the old one stops working at once."""
    actor.require("admin")
    prefix, plaintext = generate_key()
    with db.session() as session:
        row = _find(session, reference)
        if row.revoked_at is not None:
            raise Conflict(f"API key {row.name!r} is revoked; create a new one")
        row.prefix, row.key_hash, row.updated_at = prefix, _hasher.hash(plaintext), utcnow()
        session.add(row)
        audit.record(session, actor, "api_key.rotate", "api_key", row.api_key_id, name=row.name)
    assert row.api_key_id is not None
    cache.forget(row.api_key_id)
    return IssuedKey(row, plaintext)


def revoke_key(db: Database, cache: VerifiedKeyCache, actor: Actor, reference: int | str) -> ApiKey:
    actor.require("admin")
    with db.session() as session:
        row = _find(session, reference)
        if row.revoked_at is None:
            row.revoked_at = row.updated_at = utcnow()
            session.add(row)
            audit.record(session, actor, "api_key.revoke", "api_key", row.api_key_id, name=row.name)
    assert row.api_key_id is not None
    cache.forget(row.api_key_id)
    return row
