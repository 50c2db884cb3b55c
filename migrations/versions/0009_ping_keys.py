"""ping keys and service slugs

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25

A team's ping key (its SHA-256 only) and a slug per service, unique within its team:
together they make slug ping URLs, `/ping/<ping key>/<slug>`. Existing services get
the slug of their heartbeat name where that is a valid slug not yet taken in their team.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rule of medic.core.slugs as it was at this revision (a migration never imports
# code that may change after it).
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
RESERVED = frozenset({"start", "fail", "log"})


def _slug_of(name: str) -> str | None:
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.strip().casefold()).strip("-_")[:100]
    slug = slug.rstrip("-_")
    if not SLUG.fullmatch(slug) or slug in RESERVED or slug.isdigit():
        return None
    return slug


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table(
        "ping_keys",
        sa.Column("ping_key_id", sa.Integer(), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("ping_key_id"),
        sa.UniqueConstraint("team"),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_ping_keys_key_hash"), "ping_keys", ["key_hash"], unique=True)
    with op.batch_alter_table(
        "services",
        recreate="auto",
        table_kwargs={"sqlite_autoincrement": True} if sqlite else {},
    ) as batch_op:
        batch_op.add_column(
            sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
        batch_op.create_unique_constraint("uq_services_team_slug", ["team", "slug"])
    services = sa.table(
        "services",
        sa.column("service_id", sa.Integer()),
        sa.column("team", sa.String()),
        sa.column("heartbeat_name", sa.String()),
        sa.column("slug", sa.String()),
    )
    bind = op.get_bind()
    taken: set[tuple[str, str]] = set()
    rows = bind.execute(
        sa.select(services.c.service_id, services.c.team, services.c.heartbeat_name).order_by(
            services.c.service_id
        )
    ).all()
    for service_id, team, heartbeat_name in rows:
        slug = _slug_of(heartbeat_name)
        if slug is None or (team, slug) in taken:
            continue
        taken.add((team, slug))
        bind.execute(services.update().where(services.c.service_id == service_id).values(slug=slug))


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "services",
        recreate="auto",
        table_kwargs={"sqlite_autoincrement": True} if sqlite else {},
    ) as batch_op:
        batch_op.drop_constraint("uq_services_team_slug", type_="unique")
        batch_op.drop_column("slug")
    op.drop_index(op.f("ix_ping_keys_key_hash"), table_name="ping_keys")
    op.drop_table("ping_keys")
