"""ids never reused; playbooks archived, not deleted

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24

An id people see (in a Slack button, a URL, an approval message, an audit entry, a
principal `key:<id>`) must never come to mean another row. PostgreSQL's sequences
never hand an id out twice; SQLite, without AUTOINCREMENT, reuses the highest id once
that row is deleted. So on SQLite every such table is rebuilt with AUTOINCREMENT
(its rows, ids and indexes kept).

Deleting a playbook now archives it (`archived_at`): its versions and executions stay
readable, and it is renamed `<name>~archived-<id>` so its name can be applied again;
names grow to 128 characters for that suffix.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables whose ids people see or that messages carry (playbooks is rebuilt below).
AUTOINCREMENT_TABLES = (
    "services",
    "alerts",
    "executions",
    "maintenance_windows",
    "api_keys",
    "teams",
    "notification_targets",
    "routing_policies",
    "working_hours",
    "secrets",
    "notifications",
    "deliveries",
    "audit_log",
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _rebuild(table: str, autoincrement: bool) -> None:
    """Rebuild a SQLite table with or without AUTOINCREMENT (migrations/env.py turns
    foreign keys off meanwhile, so rows referring to it are kept as they are)."""
    with op.batch_alter_table(
        table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade() -> None:
    sqlite = _sqlite()
    with op.batch_alter_table(
        "playbooks",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True} if sqlite else {},
    ) as batch_op:
        batch_op.add_column(
            sa.Column("archived_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.alter_column(
            "name",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=63),
            type_=sqlmodel.sql.sqltypes.AutoString(length=128),
            existing_nullable=False,
        )
    if sqlite:
        for table in AUTOINCREMENT_TABLES:
            _rebuild(table, autoincrement=True)


def downgrade() -> None:
    sqlite = _sqlite()
    # Before archiving, deleting a playbook deleted its versions and executions: an
    # archived playbook goes that way (explicitly: SQLite's foreign keys are off here).
    archived = "SELECT playbook_id FROM playbooks WHERE archived_at IS NOT NULL"
    op.execute(
        "DELETE FROM execution_steps WHERE execution_id IN "
        f"(SELECT execution_id FROM executions WHERE playbook_id IN ({archived}))"
    )
    op.execute(f"DELETE FROM executions WHERE playbook_id IN ({archived})")
    op.execute(f"DELETE FROM playbook_versions WHERE playbook_id IN ({archived})")
    op.execute("DELETE FROM playbooks WHERE archived_at IS NOT NULL")
    if sqlite:
        for table in reversed(AUTOINCREMENT_TABLES):
            _rebuild(table, autoincrement=False)
    with op.batch_alter_table(
        "playbooks",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": False} if sqlite else {},
    ) as batch_op:
        batch_op.alter_column(
            "name",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=128),
            type_=sqlmodel.sql.sqltypes.AutoString(length=63),
            existing_nullable=False,
        )
        batch_op.drop_column("archived_at")
