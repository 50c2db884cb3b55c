"""v2 API keys (admin): create (the key is shown once), list, rotate, revoke."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from medic.api.auth import admin_access, get_medic
from medic.api.envelope import Envelope, envelope
from medic.api.v2.schemas import ApiKeyOut
from medic.core.durations import parse_duration
from medic.ops import keys
from medic.ops.actor import Actor
from medic.ops.errors import InvalidInput
from medic.runtime import Medic

router = APIRouter(prefix="/keys", tags=["v2 api keys"])
MedicDep = Annotated[Medic, Depends(get_medic)]


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=255)
    scopes: list[str] = Field(default_factory=lambda: ["read"], description="read, write, admin")
    expires_at: datetime | None = None
    expires_in: str | None = Field(default=None, description="e.g. 90d; instead of expires_at")
    heartbeat_rate_limit: int | None = Field(default=None, description="per minute")
    management_rate_limit: int | None = Field(default=None, description="per minute")


def issued(issued_key: keys.IssuedKey) -> dict:
    return {**ApiKeyOut.of(issued_key.key).model_dump(), "key": issued_key.plaintext}


def expiry(expires_at: datetime | None, expires_in: str | None) -> datetime | None:
    if expires_at is not None and expires_in is not None:
        raise InvalidInput("give expires_at or expires_in, not both")
    if expires_in is not None:
        try:
            return datetime.now(UTC) + parse_duration(expires_in)
        except ValueError as exc:
            raise InvalidInput(f"expires_in: {exc}") from None
    if expires_at is not None and expires_at.tzinfo is None:
        raise InvalidInput("expires_at must include a timezone offset")
    return expires_at


@router.post(
    "",
    status_code=201,
    response_model=Envelope,
    summary="Create a key; it is shown only in this answer",
)
def create_key(body: KeyIn, medic: MedicDep, actor: Actor = Depends(admin_access)) -> JSONResponse:
    issued_key = keys.create_key(
        medic.db,
        actor,
        body.name,
        body.scopes,
        expiry(body.expires_at, body.expires_in),
        body.heartbeat_rate_limit,
        body.management_rate_limit,
    )
    return envelope(issued(issued_key), "key created; store it now, it is not shown again", 201)


@router.get("", response_model=Envelope, summary="List keys (never their secrets)")
def list_keys(medic: MedicDep, actor: Actor = Depends(admin_access)) -> JSONResponse:
    return envelope(
        {"items": [ApiKeyOut.of(k).model_dump() for k in keys.list_keys(medic.db, actor)]}
    )


@router.post(
    "/{api_key_id}/rotate",
    response_model=Envelope,
    summary="Replace a key's secret; the old one stops working",
)
def rotate_key(
    api_key_id: int, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    issued_key = keys.rotate_key(medic.db, medic.key_cache, actor, api_key_id)
    return envelope(issued(issued_key), "key rotated; store it now, it is not shown again")


@router.delete("/{api_key_id}", response_model=Envelope, summary="Revoke a key")
def revoke_key(
    api_key_id: int, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    key = keys.revoke_key(medic.db, medic.key_cache, actor, api_key_id)
    return envelope(ApiKeyOut.of(key).model_dump(), "key revoked")
