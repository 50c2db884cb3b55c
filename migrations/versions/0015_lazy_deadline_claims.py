"""the scheduler's deadline claim moves off next_due_at

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

`services.deadline_check_at` is when the scheduler next looks at a service's deadline:
never later than `next_due_at`, and moved forward by the scheduler only, once it has
found the service alive. The scheduler's index moves to it, so the update a heartbeat
makes to its service changes no indexed column and PostgreSQL rewrites the row in
place (a HOT update), with room kept free on each page for that (fillfactor 50).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HEALTHY = sa.text("active AND state <> 'down'")


def upgrade() -> None:
    op.add_column(
        "services",
        sa.Column("deadline_check_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    )
    op.execute("UPDATE services SET deadline_check_at = next_due_at")
    _due_index_on("deadline_check_at")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE services SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE services RESET (fillfactor)")
    _due_index_on("next_due_at")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("deadline_check_at")


def _due_index_on(column: str) -> None:
    op.drop_index("ix_services_due_healthy", table_name="services")
    op.create_index(
        "ix_services_due_healthy",
        "services",
        [column],
        unique=False,
        postgresql_where=HEALTHY,
        sqlite_where=HEALTHY,
    )
