"""v2 secrets: write-only values for playbook steps (admin). No route returns a value."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from medic.api.auth import admin_access, get_medic
from medic.ops import secrets
from medic.ops.actor import Actor
from medic.ops.secrets import DeleteSecret, ListSecrets, SecretView, SetSecret
from medic.process import MedicProcess
from medic.web.envelope import Envelope, envelope

router = APIRouter(prefix="/secrets", tags=["v2 secrets"])
MedicDep = Annotated[MedicProcess, Depends(get_medic)]


@router.get(
    "",
    response_model=Envelope[dict[str, list[SecretView]]],
    summary="Secret names and dates (never values)",
)
def list_secrets(medic: MedicDep, actor: Actor = Depends(admin_access)) -> JSONResponse:
    return envelope({"items": secrets.list_secrets(medic.context(actor), ListSecrets.of())})


@router.put(
    "/{name}",
    response_model=Envelope[SecretView],
    summary="Set a secret (sealed with AES-256-GCM; 201 when new, 200 when replaced)",
)
def set_secret(
    name: str, body: secrets.SecretValue, medic: MedicDep, actor: Actor = Depends(admin_access)
) -> JSONResponse:
    command = SetSecret.of(name=name, value=body.value)
    view, created = secrets.set_secret(medic.context(actor), command)
    if created:
        return envelope(view, "secret created", 201)
    return envelope(view, "secret replaced")


@router.delete("/{name}", response_model=Envelope[dict[str, str]], summary="Delete a secret")
def delete_secret(name: str, medic: MedicDep, actor: Actor = Depends(admin_access)) -> JSONResponse:
    secrets.delete_secret(medic.context(actor), DeleteSecret.of(name=name))
    return envelope({"name": name}, "secret deleted")
