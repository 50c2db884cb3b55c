"""One page of a list query, and how many rows match in all."""

from typing import Any

from sqlmodel import Session, func, select
from sqlmodel.sql.expression import SelectOfScalar


def fetch_page(
    session: Session,
    statement: SelectOfScalar[Any] | Any,
    order_by: Any,
    limit: int | None,
    offset: int,
) -> tuple[list[Any], int]:
    total = session.exec(select(func.count()).select_from(statement.subquery())).one()
    statement = statement.order_by(*order_by).offset(offset)
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.exec(statement).all()), total
