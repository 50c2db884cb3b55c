"""Schema migrations (Alembic), run by `medic migrate`, `medic up` and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    if not MIGRATIONS_DIR.is_dir():
        raise RuntimeError(
            f"migrations not found at {MIGRATIONS_DIR}; install Medic from its checkout"
        )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`, whatever older revision it is at now."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())
