"""v2 secrets: write-only values for playbook steps (admin). No route returns a value."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from medic.api.auth import admin_access, get_medic
from medic.api.envelope import Envelope, envelope
from medic.ops import secrets
from medic.ops.actor import Actor
from medic.runtime import Medic

router = APIRouter(prefix="/secrets", tags=["v2 secrets"])
MedicDep = Annotated[Medic, Depends(get_medic)]


@router.get("", response_model=Envelope, summary="Secret names and dates (never values)")
def list_secrets(medic: MedicDep, actor: Actor = Depends(admin_access)) -> JSONResponse:
    rows = secrets.list_secrets(medic.db, actor)
    return envelope({"items": [secrets.SecretView.of(r).model_dump() for r in rows]})


@router.put(
    "/{name}",
    response_model=Envelope,
    summary="Set a secret (sealed with AES-256-GCM; 201 when new, 200 when replaced)",
)
def set_secret(
    name: str, body: secrets.SecretValue, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    secret, created = secrets.set_secret(medic.db, medic.settings, actor, name, body)
    view = secrets.SecretView.of(secret).model_dump()
    if created:
        return envelope(view, "secret created", 201)
    return envelope(view, "secret replaced")


@router.delete("/{name}", response_model=Envelope, summary="Delete a secret")
def delete_secret(name: str, medic: MedicDep, actor: Actor = Depends(admin_access)) -> JSONResponse:
    secrets.delete_secret(medic.db, actor, name)
    return envelope({"name": name}, "secret deleted")
