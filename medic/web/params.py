"""Numbers a client puts in a URL, checked against what the database can hold before any
query runs. Row ids are 32-bit (medic.ops.fields.MAX_ID); unchecked, a larger number
reaches the driver, which SQLite refuses with an OverflowError and PostgreSQL with a
DataError, and each backend answered differently (500 and 400). At the edge both
answer alike: an id no row can have names nothing (404, like an id that is free), a
filter or paging number out of range is a bad request (400 naming the parameter)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator

from medic.ops.errors import NotFound
from medic.ops.fields import MAX_ID


def row_id(what: str) -> Any:
    """The type of a path parameter naming one row: `alert_id: row_id("alert")`.

    A malformed number stays a 400 (FastAPI's parsing); a well-formed one outside
    1..MAX_ID raises NotFound from inside validation, which pydantic lets through
    (it wraps only ValueError and AssertionError), so it is answered like any other
    unknown id. The schema documents the range, so clients and fuzzers see it."""

    def exists_in_range(value: int) -> int:
        if not 1 <= value <= MAX_ID:
            raise NotFound(f"no {what} with id {value}")
        return value

    return Annotated[
        int,
        Path(description=f"the {what}'s id", json_schema_extra={"minimum": 1, "maximum": MAX_ID}),
        AfterValidator(exists_in_range),
    ]


# A query parameter that filters by a row id: `service_id: IdFilter = None`.
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="a row id")]
