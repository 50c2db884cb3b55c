"""Packaging, without building a wheel: the migrations are found where medic.migrate
looks, in the checkout and in a wheel's layout, and pyproject.toml ships what exists.
(scripts/check-wheel builds and runs the real wheel.)"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from medic import migrate

ROOT = Path(__file__).resolve().parent.parent
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def source_dir(package: str) -> Path:
    """Where setuptools takes `package` from, following [tool.setuptools.package-dir]."""
    for prefix, directory in SETUPTOOLS.get("package-dir", {}).items():
        if package == prefix or package.startswith(prefix + "."):
            return ROOT.joinpath(directory, *package.removeprefix(prefix).split(".")[1:])
    return ROOT.joinpath(*package.split("."))


def test_the_checkout_runs_its_own_migrations() -> None:
    found = migrate.migrations_dir()
    assert found == ROOT / "migrations"
    assert (found / "env.py").is_file()
    assert list((found / "versions").glob("0001_*.py"))


def test_a_wheel_layout_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site-packages" / "medic"
    shutil.copytree(ROOT / "migrations", package / "_migrations")
    monkeypatch.setattr(migrate.resources, "files", lambda name: package)
    assert migrate.migrations_dir() == package / "_migrations"

    shutil.rmtree(package / "_migrations")
    with pytest.raises(RuntimeError, match="migrations are missing"):
        migrate.migrations_dir()


def test_the_wheel_ships_the_migrations_and_every_package() -> None:
    packages = set(SETUPTOOLS["packages"])
    assert source_dir("medic._migrations") == ROOT / "migrations"
    assert {"medic._migrations", "medic._migrations.versions"} <= packages
    on_disk = {
        ".".join(d.relative_to(ROOT).parts)
        for d in (ROOT / "medic").rglob("*")
        if d.is_dir() and any(d.glob("*.py"))
    } | {"medic"}
    assert on_disk <= packages, "add the new package to [tool.setuptools] packages"
    assert all(source_dir(p).is_dir() for p in packages)


def test_every_package_data_pattern_matches_files() -> None:
    for package, patterns in SETUPTOOLS.get("package-data", {}).items():
        for pattern in patterns:
            assert list(source_dir(package).glob(pattern)), f"{package}: {pattern}"
