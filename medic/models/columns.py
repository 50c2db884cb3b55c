"""Column helpers shared by the tables."""

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer
from sqlalchemy.dialects.postgresql import JSONB

# SQLite only auto-increments an INTEGER PRIMARY KEY, so big ids stay INTEGER there.
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")
JSON_DOCUMENT = JSON().with_variant(JSONB(), "postgresql")
# A row's id, once shown (a Slack button, a URL, an approval message, a principal
# `key:<id>`), never comes to mean another row. PostgreSQL's sequences never hand an id
# out twice; SQLite reuses the highest id after a delete unless the table says
# AUTOINCREMENT (migration 0008 rebuilt the existing tables so).
NEVER_REUSE_IDS: dict[str, Any] = {"sqlite_autoincrement": True}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_badge_token() -> str:
    """A status badge's capability: 144 random bits, URL-safe (medic.ops.badges)."""
    return secrets.token_urlsafe(18)
