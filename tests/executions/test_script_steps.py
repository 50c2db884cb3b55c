"""Script steps inside an execution: a registered script runs and its outcome is
stored and audited; a script nobody registered is refused, fails the execution, and
the refusal is in the audit log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.executions.conftest import SECRETS_KEY
from tests.playbook_runs import Runner

PLAYBOOK = """
name: clear-cache
approval: none
steps:
  - name: clear
    type: script
    script: {script}
    args: ["${{SERVICE_NAME}}"]
    timeout: 10s
"""


@pytest.fixture
def scripts_dir(shared_tmp_path: Path) -> Path:
    directory = shared_tmp_path / "scripts"
    directory.mkdir(mode=0o755)
    script = directory / "clear-cache.sh"
    script.write_text('#!/bin/sh\n[ "$1" = -- ] && shift\necho "cleared cache of $1"\n')
    script.chmod(0o755)
    return directory


@pytest.fixture
def settings_overrides(scripts_dir: Path) -> dict[str, Any]:
    return {"medic_scripts_dir": scripts_dir, "medic_secrets_key": SECRETS_KEY}


@pytest.fixture
def run_playbook(
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    execute: Callable[..., dict[str, Any]],
    runner: Runner,
) -> Callable[[str], int]:
    register("worker-1", service_name="worker-1")

    def run(script: str) -> int:
        apply_playbook(PLAYBOOK.format(script=script))
        execution_id = int(execute("clear-cache", service="worker-1")["results"]["execution_id"])
        runner.run(execution_id)
        return execution_id

    return run


def script_audit(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get("/v2/audit", params={"action": "execution.step.script"}, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["results"]["items"])


def test_a_registered_script_runs_with_its_arguments(
    run_playbook: Callable[[str], int],
    runner: Runner,
    client: TestClient,
    admin_headers: dict[str, str],
) -> None:
    execution_id = run_playbook("clear-cache.sh")
    assert runner.execution(execution_id).state == "completed"
    [step] = runner.steps(execution_id)
    assert step.state == "succeeded" and "cleared cache of worker-1" in (step.output or "")
    [entry] = script_audit(client, admin_headers)
    assert entry["outcome"] == "success" and entry["details"]["step"] == "clear"


def test_an_unregistered_script_is_refused_and_audited(
    run_playbook: Callable[[str], int],
    runner: Runner,
    client: TestClient,
    admin_headers: dict[str, str],
) -> None:
    execution_id = run_playbook("rm-everything.sh")
    execution = runner.execution(execution_id)
    assert execution.state == "failed"
    assert "'rm-everything.sh' is not registered" in (execution.error or "")
    [entry] = script_audit(client, admin_headers)
    assert entry["outcome"] == "failure"
    assert "is not registered (MEDIC_SCRIPTS_DIR)" in entry["details"]["summary"]
