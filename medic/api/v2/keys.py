"""v2 API keys (admin): create (the key is shown once), list, rotate, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from medic.api.auth import admin_access, get_medic
from medic.ops import keys
from medic.ops.actor import Actor
from medic.ops.keys import CreateKey, IssuedKey, KeyView, ListKeys, RevokeKey, RotateKey
from medic.process import MedicProcess
from medic.web.envelope import Envelope, envelope
from medic.web.params import row_id

router = APIRouter(prefix="/keys", tags=["v2 api keys"])
KeyId = row_id("API key")
MedicDep = Annotated[MedicProcess, Depends(get_medic)]


class KeyList(BaseModel):
    items: list[KeyView]


@router.post(
    "",
    status_code=201,
    response_model=Envelope[IssuedKey],
    summary="Create a key; it is shown only in this answer",
)
def create_key(
    command: CreateKey, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    issued = keys.create_key(medic.context(actor), command)
    return envelope(issued, "key created; store it now, it is not shown again", 201)


@router.get("", response_model=Envelope[KeyList], summary="List keys (never their secrets)")
def list_keys(medic: MedicDep, actor: Actor = Depends(admin_access)) -> JSONResponse:
    return envelope(KeyList(items=keys.list_keys(medic.context(actor), ListKeys.of())))


@router.post(
    "/{api_key_id}/rotate",
    response_model=Envelope[IssuedKey],
    summary="Replace a key's secret; the old one stops working",
)
def rotate_key(
    api_key_id: KeyId, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    issued = keys.rotate_key(medic.context(actor), RotateKey.of(key=api_key_id))
    return envelope(issued, "key rotated; store it now, it is not shown again")


@router.delete("/{api_key_id}", response_model=Envelope[KeyView], summary="Revoke a key")
def revoke_key(
    api_key_id: KeyId, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    key = keys.revoke_key(medic.context(actor), RevokeKey.of(key=api_key_id))
    return envelope(key, "key revoked")
