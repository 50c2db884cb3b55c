"""heartbeat_events without a foreign key to services

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

The foreign key's check ran once per stored heartbeat (PostgreSQL runs a query per
inserted row): about 12% of the database's CPU per batch of heartbeats, measured with
bench/ingest.py's load. It checked what the writer already guarantees: a heartbeat is
inserted only in the transaction that holds its service's row locked and has seen it
exist (medic.ingest.postgres_batch), and a service is deleted with its heartbeats under
the same lock (medic.ops.services.delete_service), where the foreign key's cascade did
it before.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0001 left the constraint unnamed: PostgreSQL named it; SQLite's is found by this name.
NAMES = {"fk": "%(table_name)s_%(column_0_name)s_fkey"}
CONSTRAINT = "heartbeat_events_service_id_fkey"


def upgrade() -> None:
    with op.batch_alter_table("heartbeat_events", naming_convention=NAMES) as batch:
        batch.drop_constraint(CONSTRAINT, type_="foreignkey")


def downgrade() -> None:
    op.execute(
        "DELETE FROM heartbeat_events AS e"
        " WHERE NOT EXISTS (SELECT 1 FROM services s WHERE s.service_id = e.service_id)"
    )
    with op.batch_alter_table("heartbeat_events", naming_convention=NAMES) as batch:
        batch.create_foreign_key(
            CONSTRAINT, "services", ["service_id"], ["service_id"], ondelete="CASCADE"
        )
