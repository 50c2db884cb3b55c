"""One plain ASGI middleware: request timing (by route template, never raw path),
a request body size limit, and rate-limit headers set by the auth dependency."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medic.metrics import HTTP_REQUEST_DURATION
from medic.web.headers import raw_header


class BodyTooLarge(Exception):
    pass


class MedicMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        scope.setdefault("state", {})

        length = _content_length(scope)
        if length is not None and length > self.max_body_bytes:
            await self._too_large(send)
            self._observe(scope, 413, started)
            return

        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = True
                    raise BodyTooLarge
            return message

        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if too_large and not response_started:
                # FastAPI turns BodyTooLarge from its body parsing into a 400; answer 413.
                return
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                extra: list[tuple[bytes, bytes]] | None = scope["state"].get("rate_limit_headers")
                if extra:
                    headers = list(message.get("headers", []))
                    present = {name.lower() for name, _ in headers}
                    headers += [(name, value) for name, value in extra if name not in present]
                    message = {**message, "headers": headers}
            await send(message)

        try:
            with contextlib.suppress(BodyTooLarge):
                await self.app(scope, limited_receive, send_with_headers)
            if too_large and not response_started:
                await self._too_large(send)
                status = 413
        finally:
            self._observe(scope, status, started)

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        HTTP_REQUEST_DURATION.labels(scope["method"], _route_template(scope), str(status)).observe(
            time.perf_counter() - started
        )

    async def _too_large(self, send: Send) -> None:
        body = json.dumps(
            {
                "success": False,
                "message": f"request body is larger than {self.max_body_bytes} bytes",
                "results": "",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _route_template(scope: Scope) -> str:
    """The matched route's full template (`/v2/services/{service_id}`), never the raw path.

    Since FastAPI 0.137 `scope["route"]` of an included router's route is the route as
    declared in its router, without the include prefixes (`/services/{service_id}`, the
    same for `/alerts` and `/v2/alerts`); the full template is on FastAPI's effective
    route context.
    """
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    template = getattr(context, "path_format", None) or getattr(scope.get("route"), "path", None)
    return template or "unmatched"


def _content_length(scope: Scope) -> int | None:
    value = raw_header(scope, b"content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def set_rate_limit_headers(scope: dict[str, Any], headers: dict[str, str]) -> None:
    """Kept as the response will carry them (lower-case names, bytes)."""
    scope.setdefault("state", {})["rate_limit_headers"] = [
        (name.lower().encode(), value.encode()) for name, value in headers.items()
    ]
