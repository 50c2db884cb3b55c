"""No client input gives a 5xx (issue 15): schemathesis walks every operation /openapi.json
documents, on SQLite and on PostgreSQL, through its three phases: the schema's examples,
coverage (each parameter at and past its bounds, wrong types, missing fields, unexpected
methods) and fuzzing (generated requests, valid and not). Every request carries an admin
key, so the checks reach the handlers rather than stopping at 401.

Each answer must be no 5xx, and a success must have the shape the schema documents (the
cheap conformance checks; the app's errors are 400/404/409, which the schema does not
list, so status-code conformance is left out). The run is deterministic: a fixed seed,
derandomized generation, no example database and no feedback from responses, so every
run sends the same requests and CI cannot flake on a lucky draw.
"""

from __future__ import annotations

import collections
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from medic.app import create_app
from medic.process import MedicProcess
from tests.fuzz.conftest import (
    SEED_HEARTBEAT,
    SEED_NAME,
    SEED_SECRET,
    SEED_UUID,
    AdminKey,
    fuzz_settings,
    seed,
)

CONFIG = {
    "seed": 15,
    "generation": {
        "mode": "all",  # valid and invalid requests
        "max-examples": 30,  # fuzzing cases per operation; examples and coverage add theirs
        "deterministic": True,
        "database": "none",
    },
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": True},
        "fuzzing": {
            "enabled": True,
            "error-feedback": {"enabled": False},
            "extra-data-sources": {"responses": False},
        },
        "stateful": {"enabled": False},
    },
    # Half the time a path names a seeded row (tests/fuzz/conftest.py), so changes are
    # fuzzed against something that exists; the other half, anything the schema allows.
    "dictionaries": {
        "ids": {"values": [1, 2, 3]},
        "names": {"values": [SEED_NAME, SEED_SECRET]},
        "heartbeats": {"values": [SEED_HEARTBEAT]},
        "uuids": {"values": [SEED_UUID]},
    },
    "parameters": {
        **{
            f"path.{name}": {"dictionary": "ids", "probability": 0.5}
            for name in ("service_id", "alert_id", "window_id", "execution_id", "version")
        },
        "path.name": {"dictionary": "names", "probability": 0.5},
        "path.heartbeat_name": {"dictionary": "heartbeats", "probability": 0.5},
        "path.uuid": {"dictionary": "uuids", "probability": 0.5},
        "body.heartbeat_name": {"dictionary": "heartbeats", "probability": 0.5},
    },
}
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]

# The document is the same whatever the database; this app never starts or connects.
APP = create_app(settings=fuzz_settings(f"sqlite:///{tempfile.gettempdir()}/medic-openapi.db"))
schema = schemathesis.openapi.from_dict(APP.openapi(), config=SchemathesisConfig.from_dict(CONFIG))

# Answers by backend, operation and status class, for the summary.
TALLY: dict[str, collections.Counter[tuple[str, int]]] = collections.defaultdict(
    collections.Counter
)


def test_every_documented_route_is_fuzzed() -> None:
    """schemathesis reads each documented method of each path as one operation (one test
    item per backend below); none is skipped or unreadable."""
    documented = {
        f"{method.upper()} {path}"
        for path, item in APP.openapi()["paths"].items()
        for method in item
        if method in ("get", "head", "post", "put", "patch", "delete")
    }
    readable = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in readable} == documented
    assert len(documented) >= 126  # v1, v2, ping URLs, Heartbeat Central, health, metrics


@pytest.fixture
def sent(fuzz_medic: MedicProcess, fuzz_server: str, fuzz_admin: AdminKey) -> Iterator[list[int]]:
    """The statuses of this operation's requests (at least one was sent), on the seed
    rows as they were at the start."""
    seed(fuzz_medic, fuzz_server, fuzz_admin)
    statuses: list[int] = []
    yield statuses
    assert statuses, "schemathesis sent no request for this operation"


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(
    case: Any, fuzz_server: str, fuzz_admin: AdminKey, fuzz_medic: MedicProcess, sent: list[int]
) -> None:
    response = case.call(base_url=fuzz_server, headers=fuzz_admin.headers)
    sent.append(response.status_code)
    status_class = min(response.status_code // 100, 5) * 100
    TALLY[fuzz_medic.db.dialect][(case.operation.label, status_class)] += 1
    if case.operation.path.startswith("/v2/keys/") and response.status_code < 300:
        fuzz_admin.renew()  # it may have revoked or rotated the run's own key
    case.validate_response(response, checks=CHECKS, headers=fuzz_admin.headers)


def teardown_module() -> None:
    """The figures, for `pytest -s`: operations, requests, and answers by status class."""
    for backend, tally in sorted(TALLY.items()):
        by_class: collections.Counter[int] = collections.Counter()
        for (_, status_class), count in tally.items():
            by_class[status_class] += count
        operations = len({label for label, _ in tally})
        classes = ", ".join(f"{k // 100}xx: {v}" for k, v in sorted(by_class.items()))
        requests = sum(by_class.values())
        print(f"\nfuzz {backend}: {operations} operations, {requests} requests; {classes}")
