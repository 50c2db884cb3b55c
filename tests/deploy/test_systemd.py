"""deploy/systemd: units for a plain Linux host, accepted by `systemd-analyze verify`
without a warning, each hardened (a dynamic unprivileged user, the system read-only to
it but its state directory), restarted on failure, and started only after the schema
migration has run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
MEDIC = "/opt/medic/bin/medic"
ROLES = {"medic-api.service": "api", "medic-worker.service": "worker"}
ROLES |= {"medic-scheduler.service": "scheduler"}
HARDENING = {
    "User": "medic",
    "DynamicUser": "yes",
    "StateDirectory": "medic",
    "EnvironmentFile": "/etc/medic/medic.env",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
}


def directives(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (UNITS / unit).read_text().splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_a_unit_for_each_role_and_the_migration() -> None:
    assert {p.name for p in UNITS.glob("*.service")} == {*ROLES, "medic-migrate.service"}
    for unit, role in ROLES.items():
        assert directives(unit)["ExecStart"][0].split()[:2] == [MEDIC, role]
    migrate = directives("medic-migrate.service")
    assert migrate["ExecStart"] == [f"{MEDIC} migrate"]
    assert migrate["Type"] == ["oneshot"] and migrate["RemainAfterExit"] == ["yes"]


@pytest.mark.parametrize("unit", [*ROLES, "medic-migrate.service"])
def test_every_unit_is_hardened(unit: str) -> None:
    found = directives(unit)
    for key, value in HARDENING.items():
        assert found.get(key) == [value], f"{unit}: {key}={value}"


@pytest.mark.parametrize("unit", ROLES)
def test_roles_restart_and_wait_for_the_migration(unit: str) -> None:
    found = directives(unit)
    assert found["Restart"] == ["on-failure"]
    assert "medic-migrate.service" in found["Requires"][0].split()
    assert "medic-migrate.service" in found["After"][0].split()


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        reason = "systemd-analyze is missing: install Debian's systemd to verify deploy/systemd"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(f"SKIPPED LOUDLY: {reason}")
    # verify wants every ExecStart binary to exist: point them at this venv's medic.
    medic = Path(sys.executable).parent / "medic"
    assert medic.is_file()
    for unit in UNITS.glob("*.service"):
        (tmp_path / unit.name).write_text(unit.read_text().replace(MEDIC, str(medic)))
    result = subprocess.run(
        [analyze, "verify", "--man=no", *sorted(map(str, tmp_path.glob("*.service")))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # An unknown key or a bad value is only a warning (exit 0): fail on any output.
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
