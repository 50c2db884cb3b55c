"""The official MCP conformance suite (@modelcontextprotocol/conformance, from npm) passes
its generic server scenarios against `medic up` with DEFAULT settings, run one after
another as one assistant's key: scripts/mcp-conformance, which this test runs.

It installs Node 22 and the suite into .cache/ on first use; SKIPPED, and only then,
when the npm registry is unreachable and they are not installed yet (exit status 77).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.mcp.conftest import MEDIC

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "mcp-conformance"
UNREACHABLE = 77
SCENARIOS = (
    "server-initialize",
    "ping",
    "tools-list",
    "resources-list",
    "prompts-list",
    "server-sse-multiple-streams",
    "dns-rebinding-protection",
)


@pytest.mark.slow
def test_the_mcp_conformance_suite_passes_against_medic_up_with_default_settings() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "MEDIC": MEDIC},
    )
    output = done.stdout + done.stderr
    if done.returncode == UNREACHABLE:
        pytest.skip(
            f"NPM REGISTRY UNREACHABLE: the conformance suite cannot be installed\n{output}"
        )

    assert done.returncode == 0, output
    for scenario in SCENARIOS:
        assert f"PASS  {scenario} " in output, output
    assert f"{len(SCENARIOS)} passed, 0 failed" in output
