"""A batch's columns, encoded by Medic, arrive in PostgreSQL as the same arrays psycopg's
own (slower) encoding delivers: every element, NULL, text and instant."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from medic.ingest.binary_arrays import int4_array, int8_array, text_array, timestamptz_array

NOW = datetime.now(UTC)
CASES: list[tuple[str, Callable[[Sequence[Any]], bytes], list[Any]]] = [
    ("int[]", int4_array, [1, 2, 2**31 - 1, -(2**31)]),
    ("int[]", int4_array, []),
    ("int8[]", int8_array, [0, -1, 2**63 - 1, -(2**63)]),
    ("timestamptz[]", timestamptz_array, [NOW, NOW + timedelta(microseconds=1)]),
    (
        "timestamptz[]",
        timestamptz_array,
        [None, datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), NOW + timedelta(days=3650)],
    ),
    ("timestamptz[]", timestamptz_array, [datetime(2026, 3, 29, 3, 30, tzinfo=UTC)]),
    ("timestamptz[]", timestamptz_array, []),
    ("text[]", text_array, ["UP", None, "héllo ☃ 𝄞", "", 'a"b,c{}\\ NULL', "x" * 100_000]),
    ("text[]", text_array, [None]),
    ("text[]", text_array, []),
]


@pytest.fixture
def connection(postgres_url: str) -> Iterator[psycopg.Connection]:
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, client_encoding="UTF8") as connection:
        yield connection


@pytest.mark.parametrize(("cast", "encode", "values"), CASES)
def test_an_encoded_column_arrives_as_psycopg_would_send_it(
    connection: psycopg.Connection, cast: str, encode: Callable, values: list[Any]
) -> None:
    ours = connection.execute(f"SELECT %(v)b::{cast}", {"v": encode(values)}).fetchone()
    assert ours == (values,)
    if values:
        theirs = connection.execute(f"SELECT %(v)b::{cast}", {"v": values}).fetchone()
        assert ours == theirs


def test_an_instant_in_another_zone_is_the_same_instant(connection: psycopg.Connection) -> None:
    paris = datetime(2026, 7, 1, 12, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    (stored,) = connection.execute(
        "SELECT (%(v)b::timestamptz[])[1]", {"v": timestamptz_array([paris])}
    ).fetchone()  # type: ignore[misc]
    assert stored == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def test_an_int_out_of_range_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(struct.error):
        int4_array([2**31])
