"""The real medic-agent against `medic up` (SRE-21), end to end: built from agent/ (cargo
keeps the build), enrolled, long-polling over HTTP on 127.0.0.1. A playbook's agent step
runs a script from the host's allow-list and Medic records its output and exit status;
a playbook asking for a script the host does not have is refused by the agent, reported
skipped, counted, audited and told; and once the agent dies its service goes late."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.processes import MedicUp, clean_env, stop_process, wait_for

AGENT_DIR = Path(__file__).resolve().parents[2] / "agent"
BINARY = AGENT_DIR / "target" / "release" / "medic-agent"
PLAYBOOK = """
name: {name}
approval: none
steps:
  - name: run-it
    type: agent
    host: web-1
    script: {script}
    args: ["--unit=${{HEARTBEAT_NAME}}", "hello world; rm -rf /"]
    timeout: 20s
"""
SCRIPT = """#!/bin/sh
echo "restarting $1"
echo "second argument: [$2]"
echo "execution $MEDIC_EXECUTION_ID" >&2
exit 0
"""


def cargo() -> str | None:
    """Debian's cargo first (what CI installs), else whichever is on PATH."""
    return "/usr/bin/cargo" if os.access("/usr/bin/cargo", os.X_OK) else shutil.which("cargo")


@pytest.fixture(scope="session")
def agent_binary() -> Path:
    """The release build; cargo rebuilds only what changed (a no-op when nothing did)."""
    program = cargo()
    if program is None:
        if os.environ.get("CI"):
            pytest.fail("cargo is missing: .ci/run installs Debian's cargo and librust-*-dev")
        pytest.skip("cargo is not installed (apt-get install cargo librust-rustls-dev ...)")
    subprocess.run(
        [program, "build", "--release", "--quiet"], cwd=AGENT_DIR, check=True, timeout=900
    )
    return BINARY


@pytest.fixture
def scripts_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "scripts.d"
    directory.mkdir(mode=0o755)
    script = directory / "restart-app"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    return directory


class RunningAgent:
    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process, self.log = process, log

    def events(self) -> list[dict[str, Any]]:
        return [
            json.loads(line)
            for line in self.log.read_text(errors="replace").splitlines()
            if line.startswith("{")
        ]


@pytest.fixture
def agent(
    agent_binary: Path, medic_up: MedicUp, scripts_dir: Path, tmp_path: Path
) -> Iterator[RunningAgent]:
    enrolled = medic_up.results("POST", "/v2/agents", json={"host": "web-1", "alert_interval": 1})
    log = tmp_path / "agent.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(agent_binary)],
            env=clean_env(
                MEDIC_AGENT_URL=medic_up.url,
                MEDIC_AGENT_KEY=enrolled["key"],
                MEDIC_AGENT_SCRIPTS_DIR=str(scripts_dir),
                MEDIC_AGENT_WAIT="20",
            ),
            stdout=output,
            stderr=output,
        )
    running = RunningAgent(process, log)
    wait_for(
        "the agent's first poll",
        lambda: medic_up.results("GET", "/v2/agents/web-1")["last_contact_at"],
        30,
    )
    yield running
    stop_process(process)


def run_playbook(up: MedicUp, name: str, script: str) -> dict[str, Any]:
    up.results(
        "POST",
        "/v2/playbooks",
        content=PLAYBOOK.format(name=name, script=script),
        headers={"Content-Type": "application/yaml"},
    )
    started = up.results("POST", f"/v2/playbooks/{name}/execute", json={"service": "worker-1"})
    execution_id = started["execution_id"]

    def finished() -> dict[str, Any] | None:
        execution: dict[str, Any] = up.results("GET", f"/v2/executions/{execution_id}")
        return execution if execution["state"] in ("completed", "failed", "cancelled") else None

    return wait_for(f"execution {execution_id} to finish", finished, 60)


def test_the_agent_runs_allowed_scripts_refuses_others_and_its_death_alerts(
    medic_up: MedicUp, agent: RunningAgent
) -> None:
    up = medic_up
    up.results("POST", "/v2/services", json={"heartbeat_name": "worker-1", "alert_interval": 5})

    done = run_playbook(up, "restart-app-on-web-1", "restart-app")
    assert done["state"] == "completed", done
    [step] = done["steps"]
    assert (step["step_type"], step["state"], step["status_code"]) == ("agent", "succeeded", 0)
    assert "restarting --unit=worker-1" in step["output"]
    assert "second argument: [hello world; rm -rf /]" in step["output"]  # argv, no shell
    assert f"execution {done['execution_id']}" in step["output"]
    finished = [e for e in agent.events() if e["event"] == "job.finished"]
    assert [(e["script"], e["status"], e["exit_code"]) for e in finished] == [
        ("restart-app", "ok", 0)
    ]

    refused = run_playbook(up, "wipe-web-1", "wipe-disk")
    assert refused["state"] == "failed"
    assert "refused by the agent: not_registered" in refused["error"]
    skipped = [e for e in agent.events() if e["event"] == "job.skipped"]
    assert [(e["script"], e["reason"]) for e in skipped] == [("wipe-disk", "not_registered")]
    metrics = up.call("GET", "/metrics").text
    assert 'medic_agent_script_skipped_total{reason="not_registered",script="wipe-disk"} 1.0' in (
        metrics
    )
    assert 'medic_agent_script_executions_total{script="restart-app",status="ok"} 1.0' in metrics
    audit = up.results("GET", "/v2/audit?action=agent.script_skipped")
    assert audit["items"] and audit["items"][0]["details"]["script"] == "wipe-disk"
    told = up.results("GET", "/v2/notifications")["items"]
    assert any(n["kind"] == "agent.script_skipped" for n in told), told
    seen = up.results("GET", "/v2/agents/web-1")
    assert seen["counters"]["medic_agent_script_skipped_total"][0]["reason"] == "not_registered"

    agent.process.send_signal(signal.SIGKILL)
    agent.process.wait()

    def late() -> bool:
        [service] = up.results("GET", "/service/agent-web-1")
        return bool(service["down"])

    # Its last poll plus its one-minute interval, then the scheduler's next look.
    wait_for("the dead agent's service to go late", late, 150)
