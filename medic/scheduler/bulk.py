"""Writing many rows in one statement, for the scheduler's passes.

On PostgreSQL each column travels as one array parameter (`unnest`), so a statement
for a thousand rows is as cheap to send and parse as one for a single row; a
multi-row VALUES list with thousands of placeholders costs more to render and
parse on the client than the server spends writing the rows. Elsewhere (SQLite)
SQLAlchemy's executemany does the same job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Connection, Table, bindparam, insert, update
from sqlalchemy.dialects import postgresql

_PG = postgresql.dialect()


def insert_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    returning: str | None = None,
) -> list[Any]:
    """Insert `rows` (all with the same keys); the `returning` column of each, in order."""
    if not rows:
        return []
    if connection.dialect.name != "postgresql":
        statement = insert(table)
        if returning is None:
            connection.execute(statement, list(rows))
            return []
        result = connection.execute(
            statement.returning(table.c[returning], sort_by_parameter_order=True), list(rows)
        )
        return list(result.scalars())
    names = list(rows[0])
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "
        f"SELECT {', '.join(names)} FROM {_unnest(table, names)} ORDER BY position"
    )
    if returning is not None:
        sql += f" RETURNING {returning}"
    cursor = _cursor(connection)
    cursor.execute(sql, _arrays(table, names, rows))
    return [row[0] for row in cursor.fetchall()] if returning is not None else []


def update_rows(
    connection: Connection, table: Table, key: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Set each row's other columns where `key` matches (all rows with the same keys)."""
    if not rows:
        return
    names = list(rows[0])
    if connection.dialect.name != "postgresql":
        statement = (
            update(table)
            .where(table.c[key] == bindparam(f"_{key}"))
            .values({name: bindparam(name) for name in names if name != key})
        )
        connection.execute(statement, [{**row, f"_{key}": row[key]} for row in rows])
        return
    assignments = ", ".join(f"{name} = batch.{name}" for name in names if name != key)
    sql = (
        f"UPDATE {table.name} SET {assignments} FROM {_unnest(table, names)} "
        f"WHERE {table.name}.{key} = batch.{key}"
    )
    _cursor(connection).execute(sql, _arrays(table, names, rows))


def _unnest(table: Table, names: list[str]) -> str:
    arrays = ", ".join(f"%({name})b::{table.c[name].type.compile(dialect=_PG)}[]" for name in names)
    return f"unnest({arrays}) WITH ORDINALITY AS batch({', '.join(names)}, position)"


def _arrays(table: Table, names: list[str], rows: Sequence[Mapping[str, Any]]) -> dict[str, list]:
    arrays: dict[str, list] = {}
    for name in names:
        values = [row[name] for row in rows]
        if isinstance(table.c[name].type, JSON):
            values = [None if value is None else Jsonb(value) for value in values]
        arrays[name] = values
    return arrays


def _cursor(connection: Connection) -> Any:
    """A cursor on the psycopg connection under `connection`: same transaction."""
    return connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
