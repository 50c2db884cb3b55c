"""The fuzz run's server: one Medic API per backend for the whole module, on a real socket
(uvicorn runs the app's lifespan as production does), with its rate limits raised so
thousands of requests a minute are answered rather than throttled, every optional
feature switched on so its routes do real work, and an admin key that the run keeps
valid (the fuzzer may revoke or rotate it through /v2/keys)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from medic.app import create_app
from medic.config import Settings, load_settings
from medic.ops import keys
from medic.ops.actor import cli_operator
from medic.process import MedicProcess
from tests.conftest import BACKENDS, empty_tables
from tests.processes import serving

SECRETS_KEY = base64.b64encode(bytes(range(32))).decode()
HOOK_SECRET = "fuzz-hook-secret"


def fuzz_settings(database_url: str) -> Settings:
    return load_settings(
        _env_file=None,
        database_url=database_url,
        medic_rate_limiter_type="memory",
        medic_rate_limit_heartbeats=10_000_000,
        medic_rate_limit_management=10_000_000,
        medic_rate_limit_auth_failures=10_000_000,
        medic_timezone="UTC",
        medic_base_url="http://medic.test",
        medic_secrets_key=SECRETS_KEY,
        medic_playbook_hook_secret=HOOK_SECRET,
        redis_url=None,
        slack_api_token=None,
        pagerduty_routing_key=None,
    )


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_medic(request: pytest.FixtureRequest) -> Iterator[MedicProcess]:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{request.getfixturevalue('sqlite_path')}"
    runtime = MedicProcess(fuzz_settings(url), rate_limit_prefix=f"fuzz-{uuid.uuid4().hex[:8]}")
    empty_tables(runtime)
    yield runtime
    empty_tables(runtime)
    runtime.db.dispose()


@pytest.fixture(scope="module")
def fuzz_server(fuzz_medic: MedicProcess) -> Iterator[str]:
    """The API on 127.0.0.1, a free port; yields its base URL."""
    with serving(create_app(medic=fuzz_medic), log_level="critical") as url:
        yield url


class AdminKey:
    """An admin key's headers; `renew()` makes a fresh one after the fuzzer revoked or
    rotated keys (it may have picked this one)."""

    def __init__(self, medic: MedicProcess) -> None:
        self._medic = medic
        self.headers: dict[str, str] = {}
        self.renew()

    def renew(self) -> None:
        command = keys.CreateKey.of(name=f"fuzz-admin-{uuid.uuid4().hex[:8]}", scopes=["admin"])
        key = keys.create_key(self._medic.context(cli_operator()), command).key
        self.headers = {"Authorization": f"Bearer {key}"}


# One row of each kind, so fuzzed requests that name it (the test binds these names, ids
# and the ping uuid to path parameters half the time) reach the handlers' work on a real
# row rather than stopping at 404.
SEED_NAME = "fuzz-seed"
SEED_SECRET = "FUZZ_SEED"  # secret names are upper-case
SEED_HEARTBEAT = "nightly-backup"
SEED_UUID = "00000000-0000-4000-8000-0000000f0022"
SEED_PLAYBOOK = f"""
name: {SEED_NAME}
approval: none
steps:
  - name: call
    type: webhook
    url: "https://hooks.example.com/medic"
"""
WORKING_HOURS = {"timezone": "UTC", "days": ["mon-fri"], "start": "09:00", "end": "18:00"}
SEED = [
    (
        "POST",
        "/v2/services",
        {"heartbeat_name": SEED_HEARTBEAT, "service_name": "backups", "alert_interval": 5},
    ),
    ("POST", "/v2/teams", {"name": SEED_NAME, "slack_channel_id": "C0123ABCD"}),
    ("POST", "/v2/notification-targets", {"name": SEED_NAME, "kind": "slack"}),
    ("POST", "/v2/working-hours", {**WORKING_HOURS, "name": SEED_NAME}),
    ("POST", "/v2/routing-policies", {"name": SEED_NAME, "rules": [{"targets": ["slack"]}]}),
    ("POST", "/v2/playbooks", {"yaml": SEED_PLAYBOOK}),
    ("PUT", f"/v2/secrets/{SEED_SECRET}", {"value": "fuzz-secret-value"}),
    ("POST", "/v2/maintenance-windows", {"name": SEED_NAME, "duration": "1h"}),
    ("POST", "/v2/heartbeats", {"heartbeat_name": SEED_HEARTBEAT, "status": "UP"}),
]


def seed(medic: MedicProcess, base_url: str, admin: AdminKey) -> None:
    """Create the seed rows that are missing (a fuzzed request may have deleted or renamed
    them); the seeded service answers the ping URL /ping/SEED_UUID."""
    with httpx.Client(base_url=base_url, headers=admin.headers, timeout=30) as http:
        for method, path, body in SEED:
            answer = http.request(method, path, json=body)
            assert answer.status_code < 300 or answer.status_code == 409, (path, answer.text)
    with medic.db.engine.begin() as connection:
        connection.execute(
            # Unless a renamed service already has it (uuids are unique).
            text(
                "UPDATE services SET uuid = :uuid WHERE heartbeat_name = :name"
                " AND NOT EXISTS (SELECT 1 FROM services WHERE uuid = :uuid)"
            ),
            {"uuid": SEED_UUID, "name": SEED_HEARTBEAT},
        )


@pytest.fixture(scope="module")
def fuzz_admin(fuzz_medic: MedicProcess, fuzz_server: str) -> AdminKey:
    return AdminKey(fuzz_medic)
