"""Alembic environment: the engine comes from Medic (medic.migrate), never from an ini file."""

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import medic.models  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata


def run_migrations() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        enforced = _sqlite_foreign_keys(connection, False) if sqlite else False
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if enforced:
                _sqlite_foreign_keys(connection, True)


def _sqlite_foreign_keys(connection: Connection, enforce: bool) -> bool:
    """Switch SQLite's foreign key enforcement; whether it was on.

    SQLite changes a table by rebuilding it (batch "recreate"), and dropping the old
    table while foreign keys are enforced would cascade into every row that refers to
    it, so they are off while migrating. The pragma is ignored inside a transaction, so
    it goes to the driver's connection before SQLAlchemy begins one."""
    if connection.in_transaction():
        connection.commit()
    driver = connection.connection.driver_connection
    assert driver is not None
    was = bool(driver.execute("PRAGMA foreign_keys").fetchone()[0])
    driver.execute(f"PRAGMA foreign_keys={'ON' if enforce else 'OFF'}")
    return was


run_migrations()
