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
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from medic.core.names import clean_name
from medic.core.scopes import validate_scopes
from medic.db import Database
from medic.models import ApiKey
from medic.models.columns import utcnow
from medic.ops.actor import Actor
from medic.ops.errors import Conflict, NotFound, Unauthorized
from medic.ops.fields import Duration
from medic.ops.operation import Call, Command, operation

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


MAX_RATE_LIMIT = 1_000_000_000


class KeyView(BaseModel):
    """An API key as anyone may see it: never its secret, nor its hash."""

    api_key_id: int
    name: str
    prefix: str = Field(description="not secret: it identifies the key")
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    heartbeat_rate_limit: int | None = Field(description="per minute; null: the default")
    management_rate_limit: int | None = Field(description="per minute; null: the default")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, key: ApiKey) -> KeyView:
        return cls.model_validate(key.model_dump(exclude={"key_hash"}))


class IssuedKey(KeyView):
    """A key as created or rotated: `key` is the key itself, shown only in this answer."""

    key: str = Field(description="the key itself; store it now, it is not shown again")

    @classmethod
    def issued(cls, row: ApiKey, plaintext: str) -> IssuedKey:
        return cls.model_validate({**KeyView.of(row).model_dump(), "key": plaintext})


def _rate_limit(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= MAX_RATE_LIMIT:
        raise ValueError(f"must be between 1 and {MAX_RATE_LIMIT} requests per minute")
    return value


class CreateKey(Command):
    """A new key with its scopes; it expires at `expires_at`, or `expires_in` from now,
    or never."""

    name: str = Field(max_length=255)
    scopes: list[str] = Field(default_factory=lambda: ["read"], description="read, write, admin")
    expires_at: datetime | None = Field(default=None, description="ISO 8601 with an offset")
    expires_in: Duration | None = Field(default=None, description="e.g. 90d; or expires_at")
    heartbeat_rate_limit: int | None = Field(default=None, description="per minute")
    management_rate_limit: int | None = Field(default=None, description="per minute")

    _rate_limits = field_validator("heartbeat_rate_limit", "management_rate_limit")(_rate_limit)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return clean_name(value, "name")

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        return validate_scopes(value)

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("must include a timezone offset")
        return value

    @model_validator(mode="after")
    def _expiry(self) -> CreateKey:
        if self.expires_at is not None and self.expires_in is not None:
            raise ValueError("give expires_at or expires_in, not both")
        if self.expires_at is not None and self.expires_at <= datetime.now(UTC):
            raise ValueError("expires_at must be in the future")
        return self

    def expiry(self, now: datetime) -> datetime | None:
        return now + self.expires_in if self.expires_in is not None else self.expires_at

    def audit_target(self) -> tuple[str | None, object]:
        return "api_key", self.name


class KeyCommand(Command):
    """A command about one key, by id or name."""

    key: int | str = Field(description="the key's id or name")

    def audit_target(self) -> tuple[str | None, object]:
        return "api_key", self.key


class RotateKey(KeyCommand):
    """A new secret for the same name and scopes; the old one stops working at once."""


class RevokeKey(KeyCommand):
    """The key stops working for good; revoking a revoked key changes nothing."""


class ListKeys(Command):
    pass


@operation("api_key.create", scope="admin", audit="api_key.create")
def create_key(call: Call, command: CreateKey) -> IssuedKey:
    prefix, plaintext = generate_key()
    row = ApiKey(
        name=command.name,
        prefix=prefix,
        key_hash=_hasher.hash(plaintext),
        scopes=command.scopes,
        expires_at=command.expiry(datetime.now(UTC)),
        heartbeat_rate_limit=command.heartbeat_rate_limit,
        management_rate_limit=command.management_rate_limit,
    )
    try:
        with call.session.begin_nested():
            call.session.add(row)
            call.session.flush()
    except IntegrityError:
        raise Conflict(f"an API key named {command.name!r} already exists") from None
    call.audit("api_key", row.api_key_id, name=command.name, scopes=command.scopes)
    return IssuedKey.issued(row, plaintext)


@operation("api_key.list", scope="admin")
def list_keys(call: Call, _query: ListKeys) -> list[KeyView]:
    rows = call.session.exec(select(ApiKey).order_by(col(ApiKey.api_key_id))).all()
    return [KeyView.of(row) for row in rows]


def count_keys(db: Database) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(ApiKey)).one()


def _find(session: Session, reference: int | str) -> ApiKey:
    statement = (
        select(ApiKey).where(ApiKey.api_key_id == reference)
        if isinstance(reference, int)
        else select(ApiKey).where(ApiKey.name == reference)
    )
    row = session.exec(statement.with_for_update()).first()
    if row is None:
        raise NotFound(f"no API key {reference!r}")
    return row


def _forget_once_committed(call: Call, api_key_id: int | None) -> None:
    """This process stops trusting the cached old identity once the change commits
    (forgetting earlier would let a request re-cache the old row meanwhile)."""
    cache = call.context.key_cache
    if cache is not None and api_key_id is not None:
        event.listen(
            call.session, "after_commit", lambda _session: cache.forget(api_key_id), once=True
        )


@operation("api_key.rotate", scope="admin", audit="api_key.rotate")
def rotate_key(call: Call, command: RotateKey) -> IssuedKey:
    """A new secret for the same name and scopes; the old one stops working at once."""
    prefix, plaintext = generate_key()
    row = _find(call.session, command.key)
    if row.revoked_at is not None:
        raise Conflict(f"API key {row.name!r} is revoked; create a new one")
    row.prefix, row.key_hash, row.updated_at = prefix, _hasher.hash(plaintext), utcnow()
    call.session.add(row)
    call.audit("api_key", row.api_key_id, name=row.name)
    _forget_once_committed(call, row.api_key_id)
    return IssuedKey.issued(row, plaintext)


@operation("api_key.revoke", scope="admin", audit="api_key.revoke")
def revoke_key(call: Call, command: RevokeKey) -> KeyView:
    row = _find(call.session, command.key)
    if row.revoked_at is None:
        row.revoked_at = row.updated_at = utcnow()
        call.session.add(row)
        call.audit("api_key", row.api_key_id, name=row.name)
    else:
        call.unchanged()
    _forget_once_committed(call, row.api_key_id)
    return KeyView.of(row)
