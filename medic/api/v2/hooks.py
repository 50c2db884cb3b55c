"""`POST /v2/hooks/playbooks/{name}`: an external system starts a playbook (SRE-25),
authenticated by an HMAC signature instead of an API key.

The caller sends `X-Medic-Timestamp: <unix seconds>` and `X-Medic-Signature:
sha256=<hex HMAC-SHA256 with MEDIC_PLAYBOOK_HOOK_SECRET>` of the bytes

    {timestamp}\nPOST\n/v2/hooks/playbooks/{name}\n{body}

(`hook_signature`): the method and the path, so the playbook's name, are signed with the
timestamp and the raw body, and a signature for one playbook is refused for another. A
timestamp more than five minutes away is refused, and within that window a signature is
accepted once, across replicas that share the rate limiter's Redis (memory: per
process). A timestamp that is not 1 to 12 ASCII digits is a 401. Every start is also
rate-limited per playbook and bounded by the circuit breaker.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from medic.api.auth import get_medic
from medic.ops import executions
from medic.ops.actor import Actor
from medic.ops.errors import InvalidInput, NotFound, Unauthorized
from medic.ops.executions import ExecutePlaybook, ExecutionView
from medic.process import MedicProcess
from medic.ratelimit import MANAGEMENT
from medic.web.envelope import Envelope, envelope
from medic.web.identity import enforce_rate_limit

router = APIRouter(prefix="/hooks", tags=["v2 hooks"])
MAX_SKEW_SECONDS = 300
# A timestamp up to five minutes ahead stays acceptable until ten minutes after it was
# first seen: remember a signature that long.
REPLAY_WINDOW_SECONDS = 2 * MAX_SKEW_SECONDS
TIMESTAMP = re.compile(r"[0-9]{1,12}")


def hook_path(name: str) -> str:
    """The path that is signed: the playbook's name as it is (not percent-encoded)."""
    return f"/v2/hooks/playbooks/{name}"


def hook_signature(secret: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    """The `X-Medic-Signature` a caller sends for this request. Names cannot contain
    control characters, so the newlines separate the parts unambiguously."""
    message = f"{timestamp}\n{method}\n{path}\n".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def _verify(secret: str, headers: dict[str, str], path: str, body: bytes) -> str:
    """The verified signature, or Unauthorized."""
    timestamp = headers.get("x-medic-timestamp", "")
    presented = headers.get("x-medic-signature", "")
    if not timestamp or not presented:
        raise Unauthorized("sign the request: X-Medic-Timestamp and X-Medic-Signature", "unsigned")
    # fullmatch over ASCII digits: "²", "١٢" or 5,000 digits are refused, never parsed.
    if not TIMESTAMP.fullmatch(timestamp):
        raise Unauthorized("X-Medic-Timestamp must be Unix seconds (ASCII digits)", "unsigned")
    if abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
        raise Unauthorized("X-Medic-Timestamp is more than five minutes away", "stale")
    expected = hook_signature(secret, timestamp, "POST", path, body)
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise Unauthorized("the signature does not match", "bad_signature")
    return expected


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
        # A route that is off does not exist (404), and the answer says how to turn it on.
        raise NotFound(
            "playbook hooks are off on this Medic: set MEDIC_PLAYBOOK_HOOK_SECRET (a random"
            " string the caller signs with) and restart; see docs/webhooks.md"
        )
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    verified = _verify(secret, headers, hook_path(name), body)
    if not await medic.limiter.first_use("hook-signature", verified, REPLAY_WINDOW_SECONDS):
        raise Unauthorized(
            "this signed request was already accepted; sign each request anew", "replayed"
        )
    await enforce_rate_limit(request, medic, MANAGEMENT, f"hook:{name}", None)
    try:
        spec = executions.ExecuteRequest.model_validate(json.loads(body or b"{}"))
    except (ValueError, RecursionError, ValidationError) as exc:
        raise InvalidInput(
            f'the body must be JSON like {{"service": ..., "reason": ...}}: {exc}'
        ) from None
    actor = Actor(name=f"hook:{name}", front_door="api", scopes=frozenset({"write"}))
    command = ExecutePlaybook.of(playbook=name, **spec.model_dump(exclude_unset=True))
    view = await run_in_threadpool(executions.execute_playbook, medic.context(actor), command)
    return envelope(view, f"execution {view.execution_id} is {view.state}", 202)
