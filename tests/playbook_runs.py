"""Playbook runs for any test: `apply_playbook` over the API, `execute` one, and a
`runner` that does a worker's execution work inline (advance until nothing is due);
`shared_tmp_path` for the files of scripts, which run as another user under root."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from medic.models import Execution, ExecutionStep
from medic.playbooks.engine import advance
from medic.process import MedicProcess


class Runner:
    def __init__(self, medic: MedicProcess) -> None:
        self.medic = medic

    def run(self, execution_id: int, rounds: int = 20) -> Execution:
        """Advance while the execution has something to do now."""
        for _ in range(rounds):
            following = advance(self.medic.db, self.medic.settings, execution_id)
            if following.in_seconds is None or following.in_seconds > 0:
                break
        return self.execution(execution_id)

    def execution(self, execution_id: int) -> Execution:
        with self.medic.db.session() as session:
            execution = session.get(Execution, execution_id)
            assert execution is not None
            return execution

    def steps(self, execution_id: int) -> list[ExecutionStep]:
        with self.medic.db.session() as session:
            return list(
                session.exec(
                    select(ExecutionStep)
                    .where(ExecutionStep.execution_id == execution_id)
                    .order_by(col(ExecutionStep.position))
                ).all()
            )

    def due_now(self) -> datetime:
        return datetime.now(UTC)


@pytest.fixture
def runner(medic: MedicProcess) -> Runner:
    return Runner(medic)


@pytest.fixture
def apply_playbook(
    client: TestClient, admin_headers: dict[str, str]
) -> Callable[[str], dict[str, Any]]:
    def apply(yaml_text: str) -> dict[str, Any]:
        response = client.post(
            "/v2/playbooks",
            content=yaml_text,
            headers={**admin_headers, "Content-Type": "application/yaml"},
        )
        assert response.status_code in (200, 201), response.text
        return response.json()["results"]

    return apply


@pytest.fixture
def execute(client: TestClient, write_headers: dict[str, str]) -> Callable[..., dict[str, Any]]:
    def start(name: str, expect: int = 202, **body: Any) -> dict[str, Any]:
        response = client.post(f"/v2/playbooks/{name}/execute", json=body, headers=write_headers)
        assert response.status_code == expect, response.text
        return response.json()

    return start


@pytest.fixture
def shared_tmp_path() -> Iterator[Path]:
    """A temporary directory every user may enter and write to (mode 1777, like /tmp),
    outside pytest's own, which only its owner may enter: when the tests run as root,
    scripts run as MEDIC_SCRIPT_USER (`nobody`) and must reach their files."""
    path = Path(tempfile.mkdtemp(prefix="medic-test-"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)
