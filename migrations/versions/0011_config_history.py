"""config history

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25

One row per change to a service, team, routing policy, notification target or
maintenance window: who, when, through which door, and the configurable fields before
and after (target secrets masked). `restored_from` names the change a restore undid.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "config_history",
        sa.Column(
            "change_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("front_door", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("before", JSON_DOCUMENT, nullable=True),
        sa.Column("after", JSON_DOCUMENT, nullable=True),
        sa.Column("restored_from", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("change_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_config_history_at", "config_history", ["at"])
    op.create_index("ix_config_history_object", "config_history", ["kind", "key"])


def downgrade() -> None:
    op.drop_index("ix_config_history_object", table_name="config_history")
    op.drop_index("ix_config_history_at", table_name="config_history")
    op.drop_table("config_history")
