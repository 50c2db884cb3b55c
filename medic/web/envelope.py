"""The response envelope every JSON answer uses: {"success", "message", "results"}.

`results` is a list for v1 reads, an object for v2 reads, and "" on errors (v1).
"""

import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from medic.ops.fields import MAX_ID

T = TypeVar("T")

_COMPACT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class EnvelopeResponse(JSONResponse):
    """JSONResponse's bytes from one encoder made once: `json.dumps` with JSONResponse's
    options builds a new encoder per call, which cost a third of a heartbeat's answer."""

    def render(self, content: Any) -> bytes:
        return _COMPACT.encode(content).encode("utf-8")


class Envelope(BaseModel, Generic[T]):
    """Routes declare `response_model=Envelope[ServiceView]` (or `Envelope[Page[...]]`), so
    /openapi.json documents every answer's shape."""

    success: bool
    message: str
    results: T


class Page(BaseModel, Generic[T]):
    """One page of a v2 list: the `items`, how many match in all (`total`), the paging."""

    items: list[T]
    total: int
    limit: int
    offset: int


class Failure(BaseModel):
    """Every error answer: `success` false, the reason in `message`, `results` ""."""

    success: bool = False
    message: str
    results: str = ""


def envelope(
    results: Any = "",
    message: str = "",
    status_code: int = 200,
    success: bool = True,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"success": success, "message": message, "results": jsonable_encoder(results)}
    return EnvelopeResponse(body, status_code=status_code, headers=headers)


# A page of a list route: `limit: Limit = 100, offset: Offset = 0`. No table holds more
# rows than a row id counts (medic.ops.fields.MAX_ID); a larger offset would overflow
# SQLite's integers, so it is a bad request rather than an empty page.
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]


def page(items: list[Any], total: int, limit: int, offset: int) -> JSONResponse:
    """A v2 list answer: the page's `items`, the `total` that match, and the paging used."""
    return envelope({"items": items, "total": total, "limit": limit, "offset": offset})


def failure(message: str, status_code: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return envelope("", message, status_code, success=False, headers=headers)
