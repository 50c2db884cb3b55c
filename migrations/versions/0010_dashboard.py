"""dashboard sessions and status badges

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25

Server-side dashboard sessions (only a SHA-256 of the cookie's token is stored; a
session is valid while its API key is live and keeps the prefix it had at sign in), and
a badge token per service and per team: the capability in their status badge URLs.
Existing rows get a random token each.
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BADGE_TABLES = (("services", "service_id"), ("teams", "team_id"))


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("key_prefix", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("csrf_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.api_key_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_index(
        op.f("ix_dashboard_sessions_token_hash"), "dashboard_sessions", ["token_hash"], unique=True
    )
    op.create_index(op.f("ix_dashboard_sessions_api_key_id"), "dashboard_sessions", ["api_key_id"])
    op.create_index(op.f("ix_dashboard_sessions_expires_at"), "dashboard_sessions", ["expires_at"])
    sqlite = _sqlite()
    bind = op.get_bind()
    for table, id_column in BADGE_TABLES:
        with op.batch_alter_table(
            table,
            recreate="auto",
            table_kwargs={"sqlite_autoincrement": True} if sqlite else {},
        ) as batch_op:
            batch_op.add_column(
                sa.Column("badge_token", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
            )
        rows = sa.table(table, sa.column(id_column, sa.Integer()), sa.column("badge_token"))
        for (row_id,) in bind.execute(sa.select(rows.c[id_column])).all():
            bind.execute(
                rows.update()
                .where(rows.c[id_column] == row_id)
                .values(badge_token=secrets.token_urlsafe(18))
            )
        op.create_index(op.f(f"ix_{table}_badge_token"), table, ["badge_token"], unique=True)


def downgrade() -> None:
    sqlite = _sqlite()
    for table, _ in reversed(BADGE_TABLES):
        op.drop_index(op.f(f"ix_{table}_badge_token"), table_name=table)
        with op.batch_alter_table(
            table,
            recreate="auto",
            table_kwargs={"sqlite_autoincrement": True} if sqlite else {},
        ) as batch_op:
            batch_op.drop_column("badge_token")
    op.drop_index(op.f("ix_dashboard_sessions_expires_at"), table_name="dashboard_sessions")
    op.drop_index(op.f("ix_dashboard_sessions_api_key_id"), table_name="dashboard_sessions")
    op.drop_index(op.f("ix_dashboard_sessions_token_hash"), table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
