"""A batch's columns as PostgreSQL binary arrays, each encoded in one step.

psycopg encodes a list parameter element by element in Python, after walking it to
choose the elements' type: for the fifteen columns of a heartbeat batch that measured
about a fifth of the writer's time per batch. The writer knows each column's type, so
each column here is one comprehension and one join (or `struct` call), in PostgreSQL's
binary array format (its array_recv). No I/O: psycopg sends them as they are (the
dumpers registered at the end).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache

import psycopg
from psycopg.abc import Buffer
from psycopg.adapt import Dumper, PyFormat
from psycopg.postgres import types
from psycopg.pq import Format

_HEADER = struct.Struct("!iiiii")  # dimensions, has nulls, element type, length, lower bound
_EMPTY = struct.Struct("!iii")  # no dimensions, no nulls, element type
_LENGTH = struct.Struct("!i")
_NULL = _LENGTH.pack(-1)
_EIGHT = _LENGTH.pack(8)
_timestamptz = (
    psycopg.adapters.get_dumper(datetime, PyFormat.BINARY)(datetime)
    .upgrade(datetime.now(UTC), PyFormat.BINARY)
    .dump
)
_ELEMENT_OIDS = {name: types[name].oid for name in ("int4", "int8", "timestamptz", "text")}


class BinaryArray(bytes):
    """An encoded array; each subclass is one PostgreSQL array type."""

    element: str


class Int4Array(BinaryArray):
    element = "int4"


class Int8Array(BinaryArray):
    element = "int8"


class TimestamptzArray(BinaryArray):
    element = "timestamptz"


class TextArray(BinaryArray):
    element = "text"


def int4_array(values: Sequence[int]) -> Int4Array:
    return Int4Array(_fixed_width(values, "int4", "i", 4))


def int8_array(values: Sequence[int]) -> Int8Array:
    return Int8Array(_fixed_width(values, "int8", "q", 8))


def timestamptz_array(values: Sequence[datetime | None]) -> TimestamptzArray:
    """Aware datetimes (or None), each encoded by psycopg's own (compiled) encoder."""
    if None not in values:
        body = _EIGHT + _EIGHT.join([_timestamptz(time) for time in values]) if values else b""
        return TimestamptzArray(_header(len(values), False, "timestamptz") + body)
    parts = [_NULL if time is None else _EIGHT + _timestamptz(time) for time in values]
    return TimestamptzArray(_header(len(values), True, "timestamptz") + b"".join(parts))


def text_array(values: Sequence[str | None]) -> TextArray:
    """Strings (or None) as UTF-8: the writer's connection says its client_encoding is
    UTF8 (PostgreSQL converts to the database's encoding)."""
    parts: list[bytes] = []
    has_null = False
    for value in values:
        if value is None:
            has_null = True
            parts.append(_NULL)
        else:
            encoded = value.encode()
            parts.append(_LENGTH.pack(len(encoded)))
            parts.append(encoded)
    return TextArray(_header(len(values), has_null, "text") + b"".join(parts))


def _fixed_width(values: Sequence[int], element: str, code: str, width: int) -> bytes:
    """Elements of one width, none NULL: the length before each is the same."""
    if not values:
        return _header(0, False, element)
    interleaved = [width] * (2 * len(values))
    interleaved[1::2] = values
    return _header(len(values), False, element) + _layout(code, len(values)).pack(*interleaved)


@lru_cache(maxsize=256)
def _layout(code: str, count: int) -> struct.Struct:
    return struct.Struct("!" + ("i" + code) * count)


def _header(count: int, has_null: bool, element: str) -> bytes:
    oid = _ELEMENT_OIDS[element]
    if count == 0:
        return _EMPTY.pack(0, 0, oid)
    return _HEADER.pack(1, int(has_null), oid, count, 1)


def _dumper(array_oid: int) -> type[Dumper]:
    class Prebuilt(Dumper):
        format = Format.BINARY
        oid = array_oid

        def dump(self, obj: Buffer) -> Buffer:
            return obj

    return Prebuilt


# Registered for every connection made after this import: only these classes use them.
for _array in (Int4Array, Int8Array, TimestamptzArray, TextArray):
    psycopg.adapters.register_dumper(_array, _dumper(types[_array.element].array_oid))
