"""`POST /v2/hooks/playbooks/{name}`: an external system starts a playbook (SRE-25),
authenticated by an HMAC signature instead of an API key.

The caller signs exactly like Medic signs its own webhooks (docs/webhooks.md):
`X-Medic-Timestamp: <unix seconds>` and `X-Medic-Signature: sha256=<hex HMAC-SHA256 of
"{timestamp}.{body}" with MEDIC_PLAYBOOK_HOOK_SECRET>`. A timestamp more than five
minutes away is refused, so a captured request cannot be replayed later; every
start is rate-limited per playbook and bounded by the circuit breaker.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from medic.api.auth import get_medic
from medic.notify.webhook import signature
from medic.ops import executions
from medic.ops.actor import Actor
from medic.ops.errors import InvalidInput, Unauthorized, Unavailable
from medic.ops.executions import ExecutePlaybook, ExecutionView
from medic.process import MedicProcess
from medic.ratelimit import MANAGEMENT
from medic.web.envelope import Envelope, envelope
from medic.web.identity import enforce_rate_limit

router = APIRouter(prefix="/hooks", tags=["v2 hooks"])
MAX_SKEW_SECONDS = 300


def _verify(secret: str, headers: dict[str, str], body: bytes) -> None:
    timestamp = headers.get("x-medic-timestamp", "")
    presented = headers.get("x-medic-signature", "")
    if not timestamp.isdigit() or not presented:
        raise Unauthorized("sign the request: X-Medic-Timestamp and X-Medic-Signature", "unsigned")
    if abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
        raise Unauthorized("X-Medic-Timestamp is more than five minutes away", "stale")
    if not hmac.compare_digest(presented, signature(secret, timestamp, body)):
        raise Unauthorized("the signature does not match", "bad_signature")


@router.post(
    "/playbooks/{name}",
    status_code=202,
    response_model=Envelope[ExecutionView],
    summary="Start a playbook from an external system (HMAC-signed, no API key)",
)
async def start_from_hook(
    name: str, request: Request, medic: Annotated[MedicProcess, Depends(get_medic)]
) -> JSONResponse:
    secret = medic.settings.medic_playbook_hook_secret
    if not secret:
        raise Unavailable("playbook hooks are off: set MEDIC_PLAYBOOK_HOOK_SECRET")
    body = await request.body()
    _verify(secret, {k.lower(): v for k, v in request.headers.items()}, body)
    await enforce_rate_limit(request, medic, MANAGEMENT, f"hook:{name}", None)
    try:
        spec = executions.ExecuteRequest.model_validate(json.loads(body or b"{}"))
    except (ValueError, ValidationError) as exc:
        raise InvalidInput(
            f'the body must be JSON like {{"service": ..., "reason": ...}}: {exc}'
        ) from None
    actor = Actor(name=f"hook:{name}", front_door="api", scopes=frozenset({"write"}))
    command = ExecutePlaybook.of(playbook=name, **spec.model_dump(exclude_unset=True))
    view = await run_in_threadpool(executions.execute_playbook, medic.context(actor), command)
    return envelope(view, f"execution {view.execution_id} is {view.state}", 202)
