"""A team: where its alerts go in Slack and who may approve its playbooks."""

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from medic.models.columns import JSON_DOCUMENT, NEVER_REUSE_IDS, new_badge_token, utcnow


class Team(SQLModel, table=True):
    __tablename__ = "teams"
    __table_args__ = NEVER_REUSE_IDS

    team_id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255, unique=True)
    slack_channel_id: str | None = Field(default=None, max_length=64)
    approvers: list[str] = Field(
        default_factory=list, sa_column=Column(JSON_DOCUMENT, nullable=False)
    )
    # The capability in the team's status badge URLs (/badges/<token>.svg); rotatable.
    badge_token: str | None = Field(
        default_factory=new_badge_token, max_length=32, unique=True, index=True
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
