"""The agent's packaging: `agent/packaging/build-deb` makes a .deb with dpkg-deb that
holds the binary, the systemd unit and the configuration, and the unit passes
`systemd-analyze verify`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.agent.test_agent_process import AGENT_DIR, cargo


def needs(program: str | None, what: str) -> str:
    if program is None:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is missing (.ci/run installs it)")
        pytest.skip(f"{what} is missing")
    return program


def test_build_deb_packages_the_binary_unit_and_configuration() -> None:
    needs(cargo(), "cargo")
    dpkg_deb = needs(shutil.which("dpkg-deb"), "dpkg-deb")
    built = subprocess.run(
        [str(AGENT_DIR / "packaging" / "build-deb")],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    package = AGENT_DIR / built.stdout.strip().splitlines()[-1]
    assert package.name.startswith("medic-agent_") and package.suffix == ".deb"
    contents = subprocess.run(
        [dpkg_deb, "--contents", str(package)], capture_output=True, text=True, check=True
    ).stdout
    for path in (
        "./usr/bin/medic-agent",
        "./lib/systemd/system/medic-agent.service",
        "./etc/medic-agent/agent.env",
        "./etc/medic-agent/scripts.d/",
    ):
        assert path in contents, path
    control = subprocess.run(
        [dpkg_deb, "--field", str(package), "Package", "Depends"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Package: medic-agent" in control


def test_the_unit_passes_systemd_analyze(tmp_path: Path) -> None:
    analyze = needs(shutil.which("systemd-analyze"), "systemd-analyze")
    binary = tmp_path / "medic-agent"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    unit = (AGENT_DIR / "packaging" / "medic-agent.service").read_text()
    (tmp_path / "medic-agent.service").write_text(unit.replace("/usr/bin/medic-agent", str(binary)))
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(tmp_path / "medic-agent.service")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
