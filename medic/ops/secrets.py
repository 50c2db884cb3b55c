"""Playbook secrets: write-only. Setting, listing (names and dates only) and deleting
are admin operations; only the playbook engine reads a value (`reveal`), and no view,
audit entry or log line ever carries one."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import col, select

from medic.config import Settings
from medic.core.sealing import seal, unseal
from medic.db import Database
from medic.models import Secret
from medic.ops.errors import Conflict, NotFound
from medic.ops.operation import Call, Command, operation

NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
MAX_VALUE_BYTES = 16_384


class SecretValue(BaseModel):
    """The body of a set request: the value only (the name is in the path)."""

    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1, max_length=MAX_VALUE_BYTES)


class SetSecret(Command):
    """Create or replace a secret. The value is kept exactly as given (never stripped)
    and never shown, audited or logged."""

    model_config = ConfigDict(str_strip_whitespace=False)

    name: str
    value: str = Field(min_length=1, max_length=MAX_VALUE_BYTES, repr=False)

    @model_validator(mode="after")
    def _name(self) -> SetSecret:
        # A model check, so the message is the whole answer (no `name:` prefix).
        if not NAME.match(self.name):
            raise ValueError(
                f"secret name {self.name!r}: use upper-case letters, digits and _ (e.g."
                " RESTART_TOKEN), starting with a letter, at most 64 characters"
            )
        return self

    def audit_target(self) -> tuple[str | None, object]:
        return "secret", self.name


class DeleteSecret(Command):
    name: str

    def audit_target(self) -> tuple[str | None, object]:
        return "secret", self.name


class ListSecrets(Command):
    pass


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


SECRETS_OFF = (
    "secrets are off on this Medic: set MEDIC_SECRETS_KEY to 32 random bytes in base64"
    " (e.g. `openssl rand -base64 32`) and restart; `medic up` on SQLite keeps one itself"
)


def _key(settings: Settings) -> bytes:
    """The sealing key. Without one the feature is off, which is the server's
    configuration, not a failure: 409 with what to set (never 503, which says retry)."""
    key = settings.secrets_key_bytes
    if key is None:
        raise Conflict(SECRETS_OFF)
    return key


@operation("secret.set", scope="admin", audit="secret.set")
def set_secret(call: Call, command: SetSecret) -> tuple[SecretView, bool]:
    """Create or replace; True when it was created. Audited as `secret.create` or
    `secret.update`, with the name only."""
    name = command.name
    sealed = seal(_key(call.settings), name, command.value)
    now = datetime.now(UTC)
    session = call.session
    secret = session.exec(select(Secret).where(Secret.name == name).with_for_update()).first()
    created = secret is None
    if secret is None:
        secret = Secret(name=name, sealed_value=sealed, created_by=call.actor.name, created_at=now)
    secret.sealed_value, secret.updated_at = sealed, now
    session.add(secret)
    call.audit("secret", name, as_action="secret.create" if created else "secret.update")
    session.flush()
    return SecretView.of(secret), created


@operation("secret.list", scope="admin")
def list_secrets(call: Call, query: ListSecrets) -> list[SecretView]:
    """Names and dates, never values."""
    rows = call.session.exec(select(Secret).order_by(col(Secret.name))).all()
    return [SecretView.of(row) for row in rows]


@operation("secret.delete", scope="admin", audit="secret.delete")
def delete_secret(call: Call, command: DeleteSecret) -> None:
    session = call.session
    secret = session.exec(select(Secret).where(Secret.name == command.name)).first()
    if secret is None:
        raise NotFound(f"no secret named {command.name!r}")
    session.delete(secret)
    call.audit("secret", command.name)


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
