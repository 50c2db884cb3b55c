"""Schema migrations (Alembic), run by `medic migrate`, `medic up` and the tests."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect


def migrations_dir() -> Path:
    """The Alembic directory, found from the medic package's files: a wheel ships the
    checkout's top-level migrations/ as medic/_migrations (see pyproject.toml); an
    editable install runs them in place. (medic._migrations has no __init__.py, and
    setuptools' editable finder cannot import such a package, so it is not imported.)"""
    medic = resources.files("medic")
    if isinstance(medic, Path):  # a directory, not a zip
        candidates = [medic / "_migrations"]
        if (medic.parent / "pyproject.toml").is_file():  # the checkout itself
            candidates.append(medic.parent / "migrations")
        for candidate in candidates:
            if (candidate / "env.py").is_file() and (candidate / "versions").is_dir():
                return candidate
    raise RuntimeError(f"Medic's migrations are missing beside {medic}; reinstall Medic")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`, whatever older revision it is at now."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())
