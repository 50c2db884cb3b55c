"""Playbook secrets: write-only. Setting, listing (names and dates only) and deleting
are admin operations; only the playbook engine reads a value (`reveal`), and no view,
audit entry or log line ever carries one."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from medic.config import Settings
from medic.core.sealing import seal, unseal
from medic.db import Database
from medic.models import Secret
from medic.ops import audit
from medic.ops.actor import Actor
from medic.ops.errors import InvalidInput, NotFound, Unavailable

NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
MAX_VALUE_BYTES = 16_384


class SecretValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1, max_length=MAX_VALUE_BYTES)


class SecretView(BaseModel):
    name: str
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, secret: Secret) -> SecretView:
        return cls(
            name=secret.name,
            created_by=secret.created_by,
            created_at=secret.created_at,
            updated_at=secret.updated_at,
        )


def _key(settings: Settings) -> bytes:
    key = settings.secrets_key_bytes
    if key is None:
        raise Unavailable("secrets need MEDIC_SECRETS_KEY (32 random bytes, base64) to be set")
    return key


def _check_name(name: str) -> str:
    if not NAME.match(name):
        raise InvalidInput(
            f"secret name {name!r}: use upper-case letters, digits and _ (e.g. RESTART_TOKEN),"
            " starting with a letter, at most 64 characters"
        )
    return name


def set_secret(
    db: Database, settings: Settings, actor: Actor, name: str, value: SecretValue
) -> tuple[Secret, bool]:
    """Create or replace; True when it was created."""
    actor.require("admin")
    sealed = seal(_key(settings), _check_name(name), value.value)
    now = datetime.now(UTC)
    with db.session() as session:
        secret = session.exec(select(Secret).where(Secret.name == name).with_for_update()).first()
        created = secret is None
        if secret is None:
            secret = Secret(name=name, sealed_value=sealed, created_by=actor.name, created_at=now)
        secret.sealed_value, secret.updated_at = sealed, now
        session.add(secret)
        audit.record(
            session, actor, "secret.create" if created else "secret.update", "secret", name
        )
        session.flush()
        return secret, created


def list_secrets(db: Database, actor: Actor) -> list[Secret]:
    actor.require("admin")
    with db.session() as session:
        return list(session.exec(select(Secret).order_by(col(Secret.name))).all())


def delete_secret(db: Database, actor: Actor, name: str) -> None:
    actor.require("admin")
    with db.session() as session:
        secret = session.exec(select(Secret).where(Secret.name == name)).first()
        if secret is None:
            raise NotFound(f"no secret named {name!r}")
        session.delete(secret)
        audit.record(session, actor, "secret.delete", "secret", name)


def reveal(db: Database, settings: Settings, names: set[str]) -> dict[str, str]:
    """The values of `names`, for the playbook engine only; a missing one is an error
    naming it (a step must not run with a blank token)."""
    with db.session() as session:
        rows = session.exec(select(Secret).where(col(Secret.name).in_(sorted(names)))).all()
    found = {row.name: unseal(_key(settings), row.name, row.sealed_value) for row in rows}
    missing = sorted(names - found.keys())
    if missing:
        raise NotFound(f"secrets not set: {', '.join(missing)}")
    return found
