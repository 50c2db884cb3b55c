"""Column helpers shared by the tables."""

from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, Integer
from sqlalchemy.dialects.postgresql import JSONB

# SQLite only auto-increments an INTEGER PRIMARY KEY, so big ids stay INTEGER there.
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")
JSON_DOCUMENT = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)
