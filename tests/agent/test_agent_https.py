"""The agent in its production mode: HTTPS to Medic, verifying Medic's certificate
against MEDIC_AGENT_CA_FILE. A TLS terminator with a test CA's certificate for
`localhost` sits in front of `medic up` (which serves plain HTTP here); the agent polls
through it, runs a playbook's agent step and reports the result over TLS. An agent that
does not trust the certificate never reaches Medic."""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.agent.test_agent_process import agent_binary, run_playbook, scripts_dir
from tests.processes import MedicUp, clean_env, stop_process, wait_for

__all__ = ["agent_binary", "scripts_dir"]  # fixtures shared with test_agent_process


class TlsTerminator:
    """Accepts TLS on 127.0.0.1 with `certificate` and pipes the plain bytes to `backend`."""

    def __init__(self, certificate: trustme.LeafCert, backend: tuple[str, int]) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate.configure_cert(self.context)
        self.backend = backend
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.handshakes = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            secure = self.context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            client.close()
            return
        self.handshakes += 1
        upstream = socket.create_connection(self.backend)
        threading.Thread(target=_pump, args=(upstream, secure), daemon=True).start()
        _pump(secure, upstream)

    def close(self) -> None:
        self.listener.close()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def ca(tmp_path: Path) -> tuple[trustme.CA, Path]:
    authority = trustme.CA()
    path = tmp_path / "medic-ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return authority, path


@pytest.fixture
def terminator(ca: tuple[trustme.CA, Path], medic_up: MedicUp) -> Iterator[TlsTerminator]:
    port = int(medic_up.url.rsplit(":", 1)[1].rstrip("/"))
    proxy = TlsTerminator(ca[0].issue_cert("localhost"), ("127.0.0.1", port))
    yield proxy
    proxy.close()


def _start(binary: Path, url: str, key: str, scripts: Path, ca_file: Path, log: Path) -> Any:
    with log.open("wb") as output:
        return subprocess.Popen(
            [str(binary)],
            env=clean_env(
                MEDIC_AGENT_URL=url,
                MEDIC_AGENT_KEY=key,
                MEDIC_AGENT_SCRIPTS_DIR=str(scripts),
                MEDIC_AGENT_WAIT="20",
                MEDIC_AGENT_CA_FILE=str(ca_file),
            ),
            stdout=output,
            stderr=output,
        )


def test_the_agent_polls_and_reports_over_https_verifying_medics_certificate(
    agent_binary: Path,
    medic_up: MedicUp,
    scripts_dir: Path,
    terminator: TlsTerminator,
    ca: tuple[trustme.CA, Path],
    tmp_path: Path,
) -> None:
    up = medic_up
    enrolled = up.results("POST", "/v2/agents", json={"host": "web-1", "alert_interval": 1})
    up.results("POST", "/v2/services", json={"heartbeat_name": "worker-1", "alert_interval": 5})
    url = f"https://localhost:{terminator.port}"
    agent = _start(agent_binary, url, enrolled["key"], scripts_dir, ca[1], tmp_path / "agent.log")
    try:
        wait_for(
            "the agent's first poll over https",
            lambda: up.results("GET", "/v2/agents/web-1")["last_contact_at"],
            30,
        )
        done = run_playbook(up, "restart-app-on-web-1", "restart-app")
    finally:
        stop_process(agent)

    assert done["state"] == "completed", done
    [step] = done["steps"]
    assert (step["step_type"], step["state"], step["status_code"]) == ("agent", "succeeded", 0)
    assert "restarting --unit=worker-1" in step["output"]
    assert terminator.handshakes >= 1


def test_an_agent_that_does_not_trust_the_certificate_never_reaches_medic(
    agent_binary: Path,
    medic_up: MedicUp,
    scripts_dir: Path,
    terminator: TlsTerminator,
    tmp_path: Path,
) -> None:
    up = medic_up
    enrolled = up.results("POST", "/v2/agents", json={"host": "web-1", "alert_interval": 1})
    stranger = trustme.CA()
    other_ca = tmp_path / "other-ca.pem"
    stranger.cert_pem.write_to_path(str(other_ca))
    log = tmp_path / "agent.log"
    agent = _start(
        agent_binary,
        f"https://localhost:{terminator.port}",
        enrolled["key"],
        scripts_dir,
        other_ca,
        log,
    )
    try:
        wait_for("the agent to try and fail", lambda: "certificate" in log.read_text().lower(), 30)
    finally:
        stop_process(agent)

    assert terminator.handshakes == 0
    assert up.results("GET", "/v2/agents/web-1")["last_contact_at"] is None
