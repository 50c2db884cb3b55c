"""The response envelope every JSON answer uses: {"success", "message", "results"}.

`results` is a list for v1 reads, an object for v2 reads, and "" on errors (v1).
"""

from typing import Annotated, Any

from fastapi import Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class Envelope(BaseModel):
    success: bool
    message: str
    results: Any


def envelope(
    results: Any = "",
    message: str = "",
    status_code: int = 200,
    success: bool = True,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"success": success, "message": message, "results": jsonable_encoder(results)}
    return JSONResponse(body, status_code=status_code, headers=headers)


# A page of a list route: `limit: Limit = 100, offset: Offset = 0`.
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]


def page(items: list[Any], total: int, limit: int, offset: int) -> JSONResponse:
    """A v2 list answer: the page's `items`, the `total` that match, and the paging used."""
    return envelope({"items": items, "total": total, "limit": limit, "offset": offset})


def failure(message: str, status_code: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return envelope("", message, status_code, success=False, headers=headers)
