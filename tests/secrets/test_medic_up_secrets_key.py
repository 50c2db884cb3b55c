"""The embedded default just works, secrets included: `medic up` on a fresh directory,
with no MEDIC_SECRETS_KEY, keeps a key of its own beside its SQLite database (mode
0600, made once, reused by every later start), so `PUT /v2/secrets/{name}` works with
no setup and a secret set before a restart still opens after it."""

from __future__ import annotations

import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from medic.config import ConfigError, Settings, load_settings
from medic.secrets_key_file import key_file_path, use_embedded_key
from tests.fakes.receiver import Receiver
from tests.processes import MedicUp, wait_for

TOKEN = "restart-token-7f3a-kept-across-restarts"
PLAYBOOK = """
name: call-with-token
approval: none
steps:
  - name: call
    type: webhook
    url: "{url}/restart"
    headers:
      Authorization: "Bearer ${{secrets.RESTART_TOKEN}}"
"""


def embedded(directory: Path, **values: Any) -> Settings:
    """The settings of a `medic up` whose SQLite file is in `directory`."""
    values = {"medic_secrets_key": "", **values}
    return load_settings(_env_file=None, database_url=f"sqlite:///{directory}/medic.db", **values)


@pytest.fixture
def medic_up(tmp_path: Path, free_tcp_port: int) -> Iterator[MedicUp]:
    """Not started: the test starts (and restarts) it."""
    up = MedicUp(tmp_path, free_tcp_port)
    try:
        yield up
    finally:
        up.stop()


def run_playbook_with_the_secret(up: MedicUp, receiver: Receiver) -> str:
    """Run the playbook whose webhook step carries ${secrets.RESTART_TOKEN}; the header
    the receiver got (only a key that opens the sealed value can produce it)."""
    seen = len(receiver.requests)
    started = up.call("POST", "/v2/playbooks/call-with-token/execute", json={"reason": "test"})
    assert started.status_code == 202, started.text
    execution_id = started.json()["results"]["execution_id"]

    def finished() -> dict[str, Any] | None:
        view = up.call("GET", f"/v2/executions/{execution_id}").json()["results"]
        return view if view["state"] in ("completed", "failed") else None

    view = wait_for("the execution finished", finished, 30)
    assert view["state"] == "completed", view
    return receiver.requests[seen].headers["authorization"]


def test_medic_up_keeps_its_own_secrets_key_across_restarts(
    medic_up: MedicUp, webhook_receiver: Receiver
) -> None:
    key_file = medic_up.directory / "medic.db.secrets-key"
    assert not key_file.exists()

    medic_up.start()
    put = medic_up.call("PUT", "/v2/secrets/RESTART_TOKEN", json={"value": TOKEN})
    assert put.status_code == 201, put.text
    playbook = PLAYBOOK.format(url=webhook_receiver.url)
    applied = medic_up.call(
        "POST", "/v2/playbooks", content=playbook, headers={"Content-Type": "application/yaml"}
    )
    assert applied.status_code in (200, 201), applied.text
    assert run_playbook_with_the_secret(medic_up, webhook_receiver) == f"Bearer {TOKEN}"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first_key = key_file.read_bytes()
    medic_up.stop()

    medic_up.start()
    assert key_file.read_bytes() == first_key, "the key is made once, then reused"
    assert run_playbook_with_the_secret(medic_up, webhook_receiver) == f"Bearer {TOKEN}"
    listing = medic_up.call("GET", "/v2/secrets").json()["results"]["items"]
    assert [secret["name"] for secret in listing] == ["RESTART_TOKEN"]
    assert TOKEN not in (medic_up.directory / "up-2.log").read_text()


def test_two_starts_at_once_agree_on_one_key(tmp_path: Path) -> None:
    settings = [embedded(tmp_path)]
    settings += [settings[0].model_copy() for _ in range(7)]
    barrier = threading.Barrier(len(settings))

    def start(index: int) -> Callable[[], None]:
        def run() -> None:
            barrier.wait()
            use_embedded_key(settings[index])

        return run

    threads = [threading.Thread(target=start(i)) for i in range(len(settings))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    keys = {s.medic_secrets_key for s in settings}
    assert len(keys) == 1 and None not in keys
    assert [p.name for p in tmp_path.iterdir()] == ["medic.db.secrets-key"], "no leftovers"


def test_medic_secrets_key_wins_and_no_file_is_made(tmp_path: Path) -> None:
    key = "A" * 43 + "="
    settings = embedded(tmp_path, medic_secrets_key=key)
    assert use_embedded_key(settings) is None
    assert settings.medic_secrets_key == key and not list(tmp_path.iterdir())


def test_production_databases_get_no_key_file(postgres_url: str) -> None:
    settings = load_settings(_env_file=None, database_url=postgres_url, medic_secrets_key="")
    assert key_file_path(settings) is None
    assert use_embedded_key(settings) is None and settings.medic_secrets_key is None


@pytest.mark.parametrize(
    ("mode", "content", "message"),
    [
        (0o644, None, "may be read by others"),
        (0o600, b"not a key\n", "does not hold a key"),
    ],
)
def test_an_unsafe_or_broken_key_file_stops_start_up(
    tmp_path: Path, mode: int, content: bytes | None, message: str
) -> None:
    settings = embedded(tmp_path)
    use_embedded_key(settings)
    key_file = tmp_path / "medic.db.secrets-key"
    if content is not None:
        key_file.write_bytes(content)
    key_file.chmod(mode)

    with pytest.raises(ConfigError, match=message):
        use_embedded_key(embedded(tmp_path))
