"""Job clients (`medic exec`, medic.client) against the real API on a socket
(`medic_server`) or a recording server (`webhook_receiver`), and `Medic`, a small
admin's view of the served API to register jobs and read back what they reported."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import auth
from tests.processes import MEDIC, clean_env, free_port


@pytest.fixture
def backend() -> str:
    """What a client sends and how it behaves does not depend on the database."""
    return "sqlite"


@dataclass
class Medic:
    url: str
    admin: dict[str, str]

    def register(self, name: str) -> dict[str, Any]:
        body = {"heartbeat_name": name, "service_name": "jobs", "alert_interval": 60}
        response = httpx.post(f"{self.url}/v2/services", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        return response.json()["results"]

    def service(self, name: str) -> dict[str, Any] | None:
        response = httpx.get(f"{self.url}/v2/services", headers=self.admin)
        assert response.status_code == 200, response.text
        found = [s for s in response.json()["results"]["items"] if s["heartbeat_name"] == name]
        return found[0] if found else None

    def ping_url(self, service: dict[str, Any]) -> str:
        return f"{self.url}/ping/{service['uuid']}"

    def beats(self, name: str) -> list[dict[str, Any]]:
        """The service's heartbeats, oldest first."""
        response = httpx.get(
            f"{self.url}/v2/heartbeats", params={"heartbeat_name": name}, headers=self.admin
        )
        assert response.status_code == 200, response.text
        return list(reversed(response.json()["results"]["items"]))

    def runs(self, service: dict[str, Any]) -> list[dict[str, Any]]:
        path = f"/v2/services/{service['service_id']}/runs"
        response = httpx.get(self.url + path, headers=self.admin)
        assert response.status_code == 200, response.text
        return response.json()["results"]["items"]


@pytest.fixture
def served(medic_server: str, make_key: Callable[..., str]) -> Medic:
    return Medic(medic_server, auth(make_key("admin", name="jobs-admin")))


@pytest.fixture
def ingest_key(make_key: Callable[..., str]) -> str:
    """What a job holds: a key that can only post heartbeats."""
    return make_key("ingest", name="job")


def server_provisions() -> bool:
    """Whether this Medic's heartbeat route takes a `monitor` config (the server side of
    monitors created from the job)."""
    from medic.api.v2.heartbeats import HeartbeatIn

    return "monitor" in HeartbeatIn.model_fields


@pytest.fixture
def unreachable() -> str:
    """A Medic URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


# The jobs the tests run are small Python programs (`python -c …`).
PYTHON = sys.executable
Exec = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def medic_exec(tmp_path: Any) -> Exec:
    """`medic_exec(*args, url=, key=)` runs `medic exec ARGS…` as cron would (no
    terminal, no Medic settings but MEDIC_URL and MEDIC_API_KEY) and returns it ended."""

    def run(*args: str, url: str | None = None, key: str | None = None) -> Any:
        env = clean_env(**({"MEDIC_URL": url} if url else {}))
        if key:
            env["MEDIC_API_KEY"] = key
        return subprocess.run(
            [str(MEDIC), "exec", *args],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run
