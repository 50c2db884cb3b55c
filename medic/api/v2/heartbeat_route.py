"""POST /v2/heartbeats as a plain Starlette route: the hot path of heartbeat ingest.

FastAPI finds a route by walking the included routers (health, v1, ping, then v2's
fourteen), twice, and solves a dependency tree per request: measured with
bench/ingest.py, that cost more CPU than everything else a heartbeat does before the
database. The app puts this route first (medic.app). It takes the steps of the declared
route in medic.api.v2.heartbeats (which stays, and documents /openapi.json) in the same
order with the same pieces: the key, its scope and its rate limit (heartbeat_access)
before the body is read, so a request without a key is 401 whatever its body; then the
body through the same model, read the way FastAPI reads it, so a bad body fails with
FastAPI's validation errors (and medic.api.errors' messages for them); then
record_heartbeat.
"""

from __future__ import annotations

import email.message
import json
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from medic.api.auth import heartbeat_access
from medic.api.v2.heartbeats import HeartbeatIn, record_heartbeat
from medic.web.headers import header


async def post_heartbeat(request: Request) -> Response:
    actor = await heartbeat_access(request)
    body = await heartbeat_body(request)
    return await record_heartbeat(request.app.state.medic, actor, body)


ROUTE = Route("/v2/heartbeats", post_heartbeat, methods=["POST"], include_in_schema=False)


async def heartbeat_body(request: Request) -> HeartbeatIn:
    """The body as HeartbeatIn. A JSON body is validated straight from its bytes (one pass
    in pydantic-core); if that fails, the body is read again as FastAPI reads one, so the
    errors are the ones FastAPI raises for the declared route."""
    try:
        raw = await request.body()
    except Exception as exc:  # as FastAPI: e.g. a body over the size limit (then 413)
        raise HTTPException(400, "There was an error parsing the body") from exc
    if not raw:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    data: Any = raw  # not JSON: validated as bytes, which fails as "not a JSON object"
    if _is_json(header(request.scope, b"content-type")):
        try:
            return HeartbeatIn.model_validate_json(raw)
        except ValidationError:
            pass
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            error = {
                "type": "json_invalid",
                "loc": ("body", exc.pos),
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": exc.msg},
            }
            raise RequestValidationError([error]) from None
        except Exception as exc:  # as FastAPI: e.g. bytes that are no Unicode text
            raise HTTPException(400, "There was an error parsing the body") from exc
    try:
        return HeartbeatIn.model_validate(data, from_attributes=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from None


def _is_json(content_type: str | None) -> bool:
    """FastAPI's test: application/json or application/*+json; no Content-Type is not
    JSON (FastAPI's strict content type, its default)."""
    if content_type == "application/json":
        return True
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")
