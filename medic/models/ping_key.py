"""A team's ping key: the capability in its slug ping URLs (`/ping/<key>/<slug>`).

Only its SHA-256 is stored (the key is 256 random bits, so a fast hash is enough and
keeps the ping path quick): the key is shown once, when rotated, and never to anyone
reading the database or holding a read key."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from medic.models.columns import NEVER_REUSE_IDS, utcnow


class PingKey(SQLModel, table=True):
    __tablename__ = "ping_keys"
    __table_args__ = NEVER_REUSE_IDS

    ping_key_id: int | None = Field(default=None, primary_key=True)
    # The team by name, like services.team (teams stay free text there).
    team: str = Field(max_length=255, unique=True)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)
