"""API keys (SRE-7): create, list, rotate, revoke, and authenticate a presented key.

A key looks like ``mdk_<prefix>_<secret>``. Only an argon2 hash of it is stored.
Argon2 is slow on purpose, so a presented key finds its row by the non-secret
prefix (one indexed lookup, no scan over hashes), and a successful verification is
cached for `MEDIC_KEY_CACHE_SECONDS` so heartbeat ingest does not pay for it on
every request. Revoking or rotating clears this process's cache at once; other
processes notice within the cache time.

Argon2 also costs memory (64 MiB a verification by default), so it never runs for
a key that cannot be valid: only when the prefix belongs to a live key (not revoked,
not expired), never again for a key refused within the cache time, and never for a
key this process verified before against the hash its row still has. The doors
bound how many verifications run at once (`verify_live_key`'s callers).
"""

from __future__ import annotations

import hashlib
import secrets
import string
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from medic.core.agents import clean_host
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
    agent_host: str | None = None

    def actor(self, front_door: str = "api") -> Actor:
        return Actor(
            self.name, front_door, self.scopes, self.api_key_id, agent_host=self.agent_host
        )


@dataclass(frozen=True, slots=True)
class LiveKey:
    """The live key a presented key's prefix names; argon2 has yet to say whether the
    presented secret is its."""

    key_hash: str
    identity: KeyIdentity


# What the database says about a prefix: its live key, or why no key with it is valid
# (message, reason).
Lookup = LiveKey | tuple[str, str]


class VerifiedKeyCache:
    """For a few seconds (the TTL): sha256(presented key) -> identity; -> why it was
    refused (a bogus key presented again costs nothing); prefix -> what the database said
    about it (a flood of keys naming one prefix costs one lookup). And sha256 -> the
    stored hash it verified against (while the row keeps that hash, argon2 would only say
    yes again). Never holds a plaintext key. Each map is bounded: a full one starts over.
    A TTL of 0 caches nothing."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, KeyIdentity]] = {}
        self._refusals: dict[str, tuple[float, str, str]] = {}
        self._lookups: dict[str, tuple[float, Lookup]] = {}
        self._verified: dict[str, str] = {}
        self._lock = threading.Lock()

    @staticmethod
    def fingerprint(presented: str) -> str:
        return hashlib.sha256(presented.encode()).hexdigest()

    def get(self, presented: str) -> KeyIdentity | None:
        entry = self._entries.get(self.fingerprint(presented))
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, presented: str, identity: KeyIdentity, key_hash: str | None = None) -> None:
        if self.ttl <= 0:  # no cache at all: every request is verified
            return
        fingerprint = self.fingerprint(presented)
        with self._lock:
            if key_hash is not None:
                if len(self._verified) >= self.max_entries:
                    self._verified.clear()
                self._verified[fingerprint] = key_hash
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[fingerprint] = (time.monotonic(), identity)

    def vouches(self, presented: str, key_hash: str) -> bool:
        """This very key (same sha256) verified against `key_hash` before."""
        return self._verified.get(self.fingerprint(presented)) == key_hash

    def refusal(self, presented: str) -> Unauthorized | None:
        """A fresh Unauthorized like the one this key got within the cache time, if any."""
        entry = self._refusals.get(self.fingerprint(presented))
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return Unauthorized(entry[1], entry[2])

    def refuse(self, presented: str, refusal: Unauthorized) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._refusals) >= self.max_entries:
                self._refusals.clear()
            self._refusals[self.fingerprint(presented)] = (
                time.monotonic(),
                refusal.message,
                refusal.reason,
            )

    def lookup(self, prefix: str) -> Lookup | None:
        entry = self._lookups.get(prefix)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1]

    def remember_lookup(self, prefix: str, found: Lookup) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._lookups) >= self.max_entries:
                self._lookups.clear()
            self._lookups[prefix] = (time.monotonic(), found)

    def forget(self, api_key_id: int) -> None:
        with self._lock:
            for fingerprint, (_, identity) in list(self._entries.items()):
                if identity.api_key_id == api_key_id:
                    del self._entries[fingerprint]
            for prefix, (_, found) in list(self._lookups.items()):
                if isinstance(found, LiveKey) and found.identity.api_key_id == api_key_id:
                    del self._lookups[prefix]


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
        agent_host=row.agent_host,
    )


def authenticate(db: Database, cache: VerifiedKeyCache, presented: str | None) -> KeyIdentity:
    """Identify a presented key or raise Unauthorized with the reason (for the metric).
    Unbounded: for a caller with one key (the stdio MCP server); the HTTP doors bound
    argon2 themselves (medic.web.identity)."""
    found = find_live_key(db, cache, presented)
    return found if isinstance(found, KeyIdentity) else verify_live_key(cache, presented, found)


def missing_key() -> Unauthorized:
    return Unauthorized(
        "an API key is required (Authorization: Bearer <key> or X-API-Key)", "missing"
    )


def find_live_key(
    db: Database, cache: VerifiedKeyCache, presented: str | None
) -> KeyIdentity | LiveKey:
    """Everything short of argon2: the identity when the caches already know the key,
    else the live key its prefix names. Refusals (malformed, unknown, revoked, expired)
    raise Unauthorized and are remembered for the cache time."""
    if not presented:
        raise missing_key()
    known = known_key(cache, presented)
    if known is not None:
        return known
    prefix = split_key(presented)
    assert prefix is not None  # known_key refuses a malformed key
    found = lookup_prefix(db, prefix)
    cache.remember_lookup(prefix, found)
    return judge_key(cache, presented, found)


def known_key(cache: VerifiedKeyCache, presented: str) -> KeyIdentity | LiveKey | None:
    """What the caches alone say, without I/O: the identity, the live key to verify, or
    None when the database must be asked about the prefix. Raises Unauthorized for a key
    refused within the cache time and for a malformed one."""
    cached = authenticate_cached(cache, presented)
    if cached is not None:
        return cached
    refusal = cache.refusal(presented)
    if refusal is not None:
        raise refusal
    prefix = split_key(presented)
    if prefix is None:
        _refuse(cache, presented, Unauthorized("invalid API key", "invalid"))
    found = cache.lookup(prefix)
    return None if found is None else judge_key(cache, presented, found)


def lookup_prefix(db: Database, prefix: str) -> Lookup:
    """The live key with this prefix, or why there is none (one indexed lookup)."""
    with db.session() as session:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if row is None:
        return ("invalid API key", "invalid")
    # The prefix is not secret: saying a prefix's key is revoked tells nothing new, and
    # refusing here is what keeps argon2 away from keys that cannot be valid.
    if row.revoked_at is not None:
        return ("this API key has been revoked", "revoked")
    return LiveKey(row.key_hash, _identity(row))


def judge_key(cache: VerifiedKeyCache, presented: str, found: Lookup) -> KeyIdentity | LiveKey:
    """The presented key against what its prefix names: refused (and remembered) unless
    that is a live, unexpired key; the identity at once when this very key verified
    against that hash before; else the live key, for argon2."""
    if isinstance(found, tuple):
        _refuse(cache, presented, Unauthorized(*found))
    try:
        _check_not_expired(found.identity.expires_at)
    except Unauthorized as exc:
        _refuse(cache, presented, exc)
    if cache.vouches(presented, found.key_hash):
        cache.put(presented, found.identity, found.key_hash)
        return found.identity
    return found


def _refuse(cache: VerifiedKeyCache, presented: str, refusal: Unauthorized) -> NoReturn:
    cache.refuse(presented, refusal)
    raise refusal


def verify_live_key(cache: VerifiedKeyCache, presented: str, key: LiveKey) -> KeyIdentity:
    """Argon2: slow and memory-hungry on purpose; the caller bounds how many run at once."""
    try:
        _hasher.verify(key.key_hash, presented)
    except (VerificationError, InvalidHashError):
        refusal = Unauthorized("invalid API key", "invalid")
        cache.refuse(presented, refusal)
        raise refusal from None
    cache.put(presented, key.identity, key.key_hash)
    return key.identity


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
    agent_host: str | None = Field(default=None, description="an agent key's host")
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


def key_name(value: str) -> str:
    """A key's name is for people; it must never read as a principal (`key:<id>`,
    `slack:<team>/<user>`, `hook:<playbook>`, `system`), so it cannot contain ':'."""
    name = clean_name(value, "name")
    if ":" in name:
        raise ValueError(
            "must not contain ':' (names like slack:…, key:…, hook:… or system:… are "
            "reserved for principals)"
        )
    return name


def _rate_limit(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= MAX_RATE_LIMIT:
        raise ValueError(f"must be between 1 and {MAX_RATE_LIMIT} requests per minute")
    return value


class CreateKey(Command):
    """A new key with its scopes; it expires at `expires_at`, or `expires_in` from now,
    or never."""

    name: str = Field(max_length=255)
    scopes: list[str] = Field(
        default_factory=lambda: ["read"], description="ingest, read, write, admin"
    )
    expires_at: datetime | None = Field(default=None, description="ISO 8601 with an offset")
    expires_in: Duration | None = Field(default=None, description="e.g. 90d; or expires_at")
    heartbeat_rate_limit: int | None = Field(default=None, description="per minute")
    management_rate_limit: int | None = Field(default=None, description="per minute")
    host: str | None = Field(
        default=None, description="agent keys only: the host this agent polls for"
    )

    _rate_limits = field_validator("heartbeat_rate_limit", "management_rate_limit")(_rate_limit)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        return None if value is None else clean_host(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return key_name(value)

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
        if ("agent" in self.scopes) != (self.host is not None):
            raise ValueError("an agent key needs a host, and only an agent key has one")
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
        agent_host=command.host,
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
