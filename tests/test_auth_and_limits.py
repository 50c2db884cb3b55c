"""Who may call what, and how often: API keys, scopes, key lifecycle, anonymous v1
heartbeats, per-key rate limits and the verified-key cache (DESIGN.md, "Security").

The rules, as these tests state them:

* Every route needs an API key except `/health*`, `/metrics`, the network check
  (`/healthcheck/network`, `/v1/healthcheck/network`), the ping URLs and the API docs.
  A key goes in `Authorization: Bearer <key>` or in `X-API-Key: <key>`.
* A missing, malformed, wrong, expired or revoked key gets 401; a valid key whose scope
  is too low gets 403. Scopes (medic.core.scopes): `ingest` posts heartbeats and job
  signals and nothing else; `read` reads; `write` holds both and operates; `admin`
  configures trust: keys, the audit log, secrets, playbooks, teams, notification
  targets, routing policies, working hours, and deleting a service. Each refusal counts
  in `medic_auth_failures_total{reason}`.
* The matrix is built from the application's own route table, so a route added later
  is covered (and must follow the rules) without touching this file.
* Keys are shown once (in the create or rotate answer); rotating or revoking a key
  stops the old secret at once, even though verifications are cached.
* Rate limits are per key and per bucket (heartbeats, management), in memory or Redis,
  with `X-RateLimit-*` headers on every limited answer and 429 + `Retry-After`.
"""

from __future__ import annotations

import os
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from medic.core.scopes import grants
from medic.models import ApiKey
from medic.ops import keys
from medic.ops.actor import cli_operator
from medic.process import MedicProcess

try:  # FastAPI >= 0.16x keeps included routers as one entry each in app.routes
    from fastapi.routing import iter_route_contexts
except ImportError:  # older FastAPI flattens them into APIRoutes itself
    iter_route_contexts = None

REDIS_URL = os.environ.get("MEDIC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BEAT = {"heartbeat_name": "nightly-backup", "status": "UP"}
STYLES = ("bearer", "x-api-key")

# --- the rules ------------------------------------------------------------------------

PUBLIC_PATHS = frozenset(
    {
        "/health",
        "/health/live",
        "/health/ready",
        "/metrics",
        "/healthcheck/network",
        "/v1/healthcheck/network",
        "/slack/events",  # Slack's signature is the credential (tests/slack)
        "/docs",
        "/docs/oauth2-redirect",  # part of the Swagger UI page
        "/openapi.json",
        "/redoc",
        "/",  # leads to the dashboard or its sign-in page
        "/dashboard",
    }
)
PUBLIC_PREFIXES = (
    "/ping/",  # the unguessable uuid is the credential
    "/heartbeat/",  # Heartbeat Central's heartbeat: its uuid is the credential, as /ping/
    "/v2/hooks/",  # an HMAC signature is the credential (tests/executions/test_hooks.py)
    "/approvals/",  # the link's token shows; deciding takes a key in the form
    "/badges/",  # the unguessable badge token is the credential (tests/dashboard)
    "/dashboard/",  # a session signed in with a key (tests/dashboard)
)
SCOPES = ("ingest", "read", "write", "admin")
# Heartbeats and job signals: all `ingest` may do.
INGEST_ROUTES = frozenset(
    {
        ("POST", "/heartbeat"),
        ("POST", "/v1/heartbeat"),
        ("POST", "/v2/heartbeats"),
        ("POST", "/v2/heartbeat/{service_id}/start"),
        ("POST", "/v2/heartbeat/{service_id}/complete"),
        ("POST", "/v2/heartbeat/{service_id}/fail"),
    }
)
# Admin even to read: keys, the audit log, secrets.
ADMIN_PREFIXES = ("/v2/keys", "/v2/audit", "/v2/secrets")
# Admin to change, read to look: what runs, who approves it, where alerts go.
TRUST_PREFIXES = (
    "/v2/playbooks",
    "/v2/teams",
    "/v2/notification-targets",
    "/v2/routing-policies",
    "/v2/working-hours",
)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


def required_scope(method: str, path: str) -> str:
    """ingest for heartbeats and job signals; admin for keys, the audit log, secrets,
    changing playbooks, teams, targets, routing and working hours, and deleting a
    service; else read for reading (GET) and write for operating (requesting a playbook
    run included)."""
    if (method, path) in INGEST_ROUTES:
        return "ingest"
    if _under(path, ("/v2/agent",)):
        return "agent"
    if _under(path, ("/v2/agents",)) and method not in ("GET", "HEAD"):
        return "admin"
    if _under(path, ADMIN_PREFIXES):
        return "admin"
    reading = method in ("GET", "HEAD")
    if _under(path, TRUST_PREFIXES) and not reading:
        return "write" if path == "/v2/playbooks/{name}/execute" else "admin"
    if (method, path) in (
        ("DELETE", "/v2/services/{service_id}"),
        ("DELETE", "/api/applications/{app_id}"),  # Heartbeat Central's delete: a service's
    ):
        return "admin"
    return "read" if reading else "write"


# --- the application's routes ---------------------------------------------------------

# Plausible path values. Ids are ones no test row has, so a request that gets past auth
# changes nothing (it answers 404 or 400 instead).
PATH_VALUES = {
    "service_id": "987654",
    "api_key_id": "987654",
    "heartbeat_name": "nightly-backup",
    "uuid": str(uuid.uuid4()),
    "exit_status": "0",
}
PATH_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the template, e.g. /v2/services/{service_id}

    @property
    def url(self) -> str:
        return PATH_PARAM.sub(lambda m: PATH_VALUES.get(m.group(1), "1"), self.path)

    @property
    def scope(self) -> str:
        return required_scope(self.method, self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def all_routes(app: FastAPI) -> Iterator[tuple[Any, str]]:
    """(route, full path) for every route, whatever the FastAPI version keeps in app.routes."""
    if iter_route_contexts is None:
        for route in app.routes:
            yield route, getattr(route, "path", "")
        return
    for context in iter_route_contexts(app.routes):
        yield context.original_route, context.path or ""


def api_endpoints(app: FastAPI) -> list[Endpoint]:
    return sorted(
        {
            Endpoint(method, path)
            for route, path in all_routes(app)
            if isinstance(route, APIRoute)
            for method in route.methods
        },
        key=str,
    )


def protected(app: FastAPI) -> list[Endpoint]:
    return [e for e in api_endpoints(app) if not is_public(e.path)]


# --- helpers --------------------------------------------------------------------------


def present(key: str, style: str = "bearer") -> dict[str, str]:
    """The two ways a client may present a key."""
    return {"Authorization": f"Bearer {key}"} if style == "bearer" else {"X-API-Key": key}


def call(client: TestClient, endpoint: Endpoint, headers: dict[str, str]) -> Any:
    return client.request(endpoint.method, endpoint.url, headers=headers)


def counter(client: TestClient, name: str, **labels: str) -> float:
    """A sample's value as /metrics shows it (0 when not yet present)."""
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def auth_failures(client: TestClient, reason: str) -> float:
    return counter(client, "medic_auth_failures_total", reason=reason)


def key_row(medic: MedicProcess, plaintext: str) -> ApiKey:
    with medic.db.session() as session:
        return session.exec(select(ApiKey).where(ApiKey.prefix == keys.split_key(plaintext))).one()


def expire_in_database(medic: MedicProcess, plaintext: str) -> None:
    """Move a key's expiry into the past (the API refuses to create such a key)."""
    with medic.db.session() as session:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == keys.split_key(plaintext))).one()
        row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        session.add(row)
    assert row.api_key_id is not None
    medic.key_cache.forget(row.api_key_id)


# --- 1. the auth matrix ---------------------------------------------------------------


def test_the_route_table_is_read_and_classified(client: TestClient) -> None:
    """Guard against a matrix that silently covers nothing."""
    found = {str(e) for e in protected(client.app)}
    assert {
        "POST /heartbeat",
        "POST /v1/heartbeat",
        "GET /service/{heartbeat_name}",
        "POST /v2/heartbeats",
        "GET /v2/audit",
        "POST /v2/keys",
        "DELETE /v2/keys/{api_key_id}",
        "DELETE /v2/services/{service_id}",
    } <= found
    assert not any(is_public(path) for path in (e.split(" ", 1)[1] for e in found))
    assert required_scope("DELETE", "/v2/services/{service_id}") == "admin"
    assert required_scope("PATCH", "/v2/services/{service_id}") == "write"
    assert required_scope("GET", "/v2/keys") == "admin"
    assert required_scope("POST", "/v2/playbooks") == "admin"
    assert required_scope("PATCH", "/v2/teams/{name}") == "admin"
    assert required_scope("POST", "/v2/playbooks/{name}/execute") == "write"
    assert required_scope("POST", "/v2/heartbeats") == "ingest"
    assert {(e.method, e.path) for e in protected(client.app) if e.scope == "ingest"} == set(
        INGEST_ROUTES
    )


def test_routes_outside_fastapi_are_only_the_docs(client: TestClient) -> None:
    """A mounted app (Slack, MCP, ...) is not an APIRoute, so the matrix cannot probe it;
    a new one must be given its own authentication tests and be listed here."""
    others = {path for route, path in all_routes(client.app) if not isinstance(route, APIRoute)}
    # POST /v2/heartbeats is served by a plain route (medic.api.v2.heartbeat_route) in
    # front of its declared APIRoute: the matrix probes the declared one, and its
    # requests land on the plain route.
    assert others <= {
        "/docs",
        "/docs/oauth2-redirect",
        "/openapi.json",
        "/redoc",
        "/mcp",
        "/v2/heartbeats",
        "/dashboard/static",  # the dashboard's CSS and JS, public like any stylesheet
    }


def test_public_routes_answer_without_a_key(client: TestClient) -> None:
    public = [e for e in api_endpoints(client.app) if is_public(e.path)]
    public += [Endpoint("GET", path) for path in ("/docs", "/openapi.json", "/redoc")]
    assert len(public) > 10
    refused = {
        str(e): status for e in public if (status := call(client, e, {}).status_code) in (401, 403)
    }
    # Needs no key, but refuses a form without its own anti-CSRF token (tests/dashboard).
    assert refused == {} or refused == {"POST /dashboard/sign-in": 403}


def refusal(answer: Any) -> str:
    """A refusal's message: Medic's envelope (`success: false`), or on the Heartbeat
    Central routes that product's own shape (`{"error": ...}`, medic.api.heartbeat_central)."""
    body = answer.json()
    if "error" in body:
        return body["error"]
    assert body["success"] is False
    return body["message"]


def test_every_protected_route_needs_a_key(client: TestClient) -> None:
    endpoints = protected(client.app)
    before = auth_failures(client, "missing")

    answers = {str(e): call(client, e, {}) for e in endpoints}

    assert {e: a.status_code for e, a in answers.items() if a.status_code != 401} == {}
    for answer in answers.values():
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert "API key is required" in refusal(answer)
    assert auth_failures(client, "missing") == before + len(endpoints)


def _malformed(medic: MedicProcess, make_key: Callable[..., str]) -> str:
    return "not-a-medic-key"


def _unknown(medic: MedicProcess, make_key: Callable[..., str]) -> str:
    """Well-formed (mdk_<12>_<secret>) but no such key."""
    return f"mdk_{'z' * 12}_{secrets.token_urlsafe(32)}"


def _wrong_secret(medic: MedicProcess, make_key: Callable[..., str]) -> str:
    """A real key's prefix with another secret: the row is found, the hash does not match."""
    prefix = keys.split_key(make_key("admin"))
    return f"mdk_{prefix}_{secrets.token_urlsafe(32)}"


def _expired(medic: MedicProcess, make_key: Callable[..., str]) -> str:
    key = make_key("admin", expires_at=datetime.now(UTC) + timedelta(hours=1))
    expire_in_database(medic, key)
    return key


def _revoked(medic: MedicProcess, make_key: Callable[..., str]) -> str:
    key = make_key("admin")
    revoke = keys.RevokeKey.of(key=key_row(medic, key).api_key_id)
    keys.revoke_key(medic.context(cli_operator()), revoke)
    return key


BAD_KEYS = {
    "malformed": (_malformed, "invalid"),
    "unknown": (_unknown, "invalid"),
    "wrong-secret": (_wrong_secret, "invalid"),
    "expired": (_expired, "expired"),
    "revoked": (_revoked, "revoked"),
}


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("case", list(BAD_KEYS))
def test_every_protected_route_refuses_a_bad_key_with_401(
    case: str, style: str, client: TestClient, medic: MedicProcess, make_key: Callable[..., str]
) -> None:
    """The bad keys are admin keys (or copies of one): the refusal is about the key itself."""
    build, reason = BAD_KEYS[case]
    headers = present(build(medic, make_key), style)
    endpoints = protected(client.app)
    before = auth_failures(client, reason)

    answers = {str(e): call(client, e, headers) for e in endpoints}

    assert {e: a.status_code for e, a in answers.items() if a.status_code != 401} == {}
    assert all(a.headers["WWW-Authenticate"] == "Bearer" for a in answers.values())
    assert auth_failures(client, reason) == before + len(endpoints)


@pytest.mark.parametrize("style", STYLES)
def test_a_key_below_the_required_scope_gets_403_everywhere(
    style: str, client: TestClient, make_key: Callable[..., str]
) -> None:
    """An ingest key on everything but heartbeats, a read key on heartbeats and write
    routes, a read or write key on admin routes."""
    holders = {scope: present(make_key(scope), style) for scope in ("ingest", "read", "write")}
    probes = [
        (e, lower)
        for e in protected(client.app)
        for lower in holders
        if not grants([lower], e.scope)
    ]
    assert {str(e) for e, lower in probes if lower == "write"} >= {
        "GET /v2/audit",
        "POST /v2/keys",
        "DELETE /v2/services/{service_id}",
        "POST /v2/playbooks",
        "PATCH /v2/teams/{name}",
        "POST /v2/notification-targets",
    }
    assert {str(e) for e, lower in probes if lower == "read"} >= {
        "POST /v2/heartbeats",
        "POST /heartbeat",
    }
    before = auth_failures(client, "scope")

    answers = {f"{e} as {lower}": call(client, e, holders[lower]) for e, lower in probes}

    assert {p: a.status_code for p, a in answers.items() if a.status_code != 403} == {}
    for answer in answers.values():
        assert "scope" in refusal(answer)
    assert auth_failures(client, "scope") == before + len(probes)


@pytest.mark.parametrize("style", STYLES)
def test_a_key_with_the_required_scope_gets_past_auth_everywhere(
    style: str, client: TestClient, make_key: Callable[..., str]
) -> None:
    """The other half of the scope table: no route asks for more than it should. The
    requests carry no body and name rows that do not exist, so they answer 400 or 404."""
    holders = {scope: present(make_key(scope), style) for scope in SCOPES}
    holders["agent"] = present(make_key("agent", host="probe-1"), style)
    answers = {str(e): call(client, e, holders[e.scope]) for e in protected(client.app)}
    assert {e: a.status_code for e, a in answers.items() if a.status_code in (401, 403)} == {}
    assert {e: a.status_code for e, a in answers.items() if a.status_code >= 500} == {}


def test_a_key_expires_even_while_its_verification_is_cached(
    client: TestClient, make_key: Callable[..., str]
) -> None:
    expires_at = datetime.now(UTC) + timedelta(seconds=2)
    key = make_key("read", expires_at=expires_at)
    assert client.get("/v2/services", headers=present(key)).status_code == 200

    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 0.1)

    answer = client.get("/v2/services", headers=present(key))
    assert answer.status_code == 401
    assert "expired" in answer.json()["message"]


# --- 2. API keys through the v2 API ---------------------------------------------------


def create_key(client: TestClient, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    answer = client.post(
        "/v2/keys", json={"name": "ci-runner", "scopes": ["write"], **body}, headers=admin
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["results"]


def test_a_new_key_is_shown_once_and_never_listed(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    created = create_key(client, admin_headers)
    plaintext = created["key"]
    assert plaintext.startswith(f"mdk_{created['prefix']}_")
    assert created["scopes"] == ["write"]
    assert client.get("/v2/services", headers=present(plaintext)).status_code == 200

    listing = client.get("/v2/keys", headers=admin_headers)

    assert listing.status_code == 200
    items = listing.json()["results"]["items"]
    assert [item["name"] for item in items] == ["test-admin", "ci-runner"]
    assert all("key" not in item and "key_hash" not in item for item in items)
    assert plaintext not in listing.text
    assert created["prefix"] in listing.text  # the prefix is not secret; it identifies a key


def test_an_expiry_in_the_past_is_refused(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    answer = client.post(
        "/v2/keys",
        json={"name": "stale", "expires_at": "2001-01-01T00:00:00+00:00"},
        headers=admin_headers,
    )
    assert answer.status_code == 400
    assert "future" in answer.json()["message"]


def test_an_expiry_may_be_a_duration_from_now(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    created = create_key(client, admin_headers, expires_in="90d")
    expires_at = datetime.fromisoformat(created["expires_at"])
    assert abs(expires_at - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=1)

    for body, message in (
        ({"expires_in": "0m"}, "expires_in: duration must be positive"),
        (
            {"expires_in": "1d", "expires_at": "2099-01-01T00:00:00+00:00"},
            "give expires_at or expires_in, not both",
        ),
    ):
        answer = client.post("/v2/keys", json={"name": "x", **body}, headers=admin_headers)
        assert answer.status_code == 400, answer.text
        assert message in answer.json()["message"]


@pytest.mark.parametrize("style", STYLES)
def test_rotating_a_key_stops_the_old_secret_at_once(
    style: str, client: TestClient, admin_headers: dict[str, str]
) -> None:
    created = create_key(client, admin_headers)
    old = created["key"]
    assert client.get("/v2/services", headers=present(old, style)).status_code == 200  # cached

    rotated = client.post(f"/v2/keys/{created['api_key_id']}/rotate", headers=admin_headers)

    assert rotated.status_code == 200
    new = rotated.json()["results"]
    assert new["key"] != old
    assert (new["api_key_id"], new["name"], new["scopes"]) == (
        created["api_key_id"],
        "ci-runner",
        ["write"],
    )
    assert client.get("/v2/services", headers=present(old, style)).status_code == 401
    assert client.get("/v2/services", headers=present(new["key"], style)).status_code == 200


@pytest.mark.parametrize("style", STYLES)
def test_revoking_a_key_stops_it_at_once(
    style: str, client: TestClient, admin_headers: dict[str, str]
) -> None:
    created = create_key(client, admin_headers)
    key_id = created["api_key_id"]
    assert client.get("/v2/services", headers=present(created["key"], style)).status_code == 200
    before = auth_failures(client, "revoked")

    revoked = client.delete(f"/v2/keys/{key_id}", headers=admin_headers)

    assert revoked.status_code == 200
    assert revoked.json()["results"]["revoked_at"] is not None
    refused = client.get("/v2/services", headers=present(created["key"], style))
    assert refused.status_code == 401
    assert "revoked" in refused.json()["message"]
    assert auth_failures(client, "revoked") == before + 1
    listed = client.get("/v2/keys", headers=admin_headers).json()["results"]["items"]
    assert next(k for k in listed if k["api_key_id"] == key_id)["revoked_at"] is not None
    assert client.post(f"/v2/keys/{key_id}/rotate", headers=admin_headers).status_code == 409


def test_key_changes_are_in_the_audit_log(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    key_id = create_key(client, admin_headers)["api_key_id"]
    assert client.post(f"/v2/keys/{key_id}/rotate", headers=admin_headers).status_code == 200
    assert client.delete(f"/v2/keys/{key_id}", headers=admin_headers).status_code == 200

    answer = client.get(
        "/v2/audit",
        params={"target_type": "api_key", "target_id": str(key_id)},
        headers=admin_headers,
    )

    assert answer.status_code == 200
    entries = answer.json()["results"]["items"]
    assert [e["action"] for e in entries] == [
        "api_key.revoke",
        "api_key.rotate",
        "api_key.create",
    ]
    assert {(e["actor"], e["front_door"], e["outcome"]) for e in entries} == {
        ("test-admin", "api", "success")
    }
    for action in ("api_key.create", "api_key.rotate", "api_key.revoke"):
        only = client.get("/v2/audit", params={"action": action}, headers=admin_headers)
        assert key_id in [int(e["target_id"]) for e in only.json()["results"]["items"]]


# --- 3. MEDIC_V1_ANONYMOUS_HEARTBEATS -------------------------------------------------


def test_v1_heartbeats_need_a_key_by_default(
    client: TestClient, register: Callable[..., dict[str, Any]], medic: MedicProcess
) -> None:
    register("nightly-backup")
    assert medic.settings.medic_v1_anonymous_heartbeats is False
    for path in ("/heartbeat", "/v1/heartbeat"):
        assert client.post(path, json=BEAT).status_code == 401


ANONYMOUS = pytest.mark.parametrize(
    "settings_overrides", [{"medic_v1_anonymous_heartbeats": True}], ids=["anonymous-v1"]
)


@ANONYMOUS
def test_anonymous_v1_heartbeats_are_accepted_when_enabled(
    client: TestClient, register: Callable[..., dict[str, Any]]
) -> None:
    register("nightly-backup")
    for path in ("/heartbeat", "/v1/heartbeat"):
        answer = client.post(path, json=BEAT)
        assert answer.status_code == 201, answer.text
        assert "X-RateLimit-Limit" in answer.headers  # limited per client address


@ANONYMOUS
def test_anonymous_v1_heartbeats_open_nothing_else(client: TestClient) -> None:
    others = [
        e for e in protected(client.app) if str(e) not in ("POST /heartbeat", "POST /v1/heartbeat")
    ]
    answers = {str(e): call(client, e, {}).status_code for e in others}
    assert {e: status for e, status in answers.items() if status != 401} == {}


@ANONYMOUS
@pytest.mark.parametrize("style", STYLES)
def test_anonymous_v1_heartbeats_still_refuse_a_bad_key(
    style: str, client: TestClient, register: Callable[..., dict[str, Any]]
) -> None:
    """No key may mean anonymous; a wrong key is still a wrong key."""
    register("nightly-backup")
    answer = client.post("/heartbeat", json=BEAT, headers=present("not-a-medic-key", style))
    assert answer.status_code == 401


# --- 4. rate limits, in memory and in Redis -------------------------------------------

STORAGES = {
    "memory": {"medic_rate_limiter_type": "memory"},
    "redis": {"medic_rate_limiter_type": "redis", "redis_url": REDIS_URL},
}


def on_each_storage(**settings: Any) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(
        "settings_overrides",
        [pytest.param({**values, **settings}, id=name) for name, values in STORAGES.items()],
    )


def limit_headers(answer: Any) -> tuple[str, str]:
    return answer.headers["X-RateLimit-Limit"], answer.headers["X-RateLimit-Remaining"]


@on_each_storage()
def test_a_key_gets_its_heartbeat_limit_then_429(
    client: TestClient,
    register: Callable[..., dict[str, Any]],
    make_key: Callable[..., str],
    medic: MedicProcess,
    settings_overrides: dict[str, Any],
) -> None:
    assert medic.limiter.backend == settings_overrides["medic_rate_limiter_type"]
    register("nightly-backup")
    key = make_key("write", heartbeat_rate_limit=3)
    before = counter(client, "medic_rate_limited_total", bucket="heartbeats")

    answers = [client.post("/heartbeat", json=BEAT, headers=present(key)) for _ in range(4)]

    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert [limit_headers(a) for a in answers] == [("3", "2"), ("3", "1"), ("3", "0"), ("3", "0")]
    now = time.time()
    for answer in answers:
        assert now - 2 <= int(answer.headers["X-RateLimit-Reset"]) <= now + 61
    assert all("Retry-After" not in a.headers for a in answers[:3])
    for answer in answers:  # each header once, even where the error handler also sets it
        assert len(answer.headers.get_list("X-RateLimit-Remaining")) == 1
    refused = answers[3]
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert refused.json()["success"] is False
    assert "rate limit" in refused.json()["message"]
    assert counter(client, "medic_rate_limited_total", bucket="heartbeats") == before + 1


@on_each_storage()
def test_heartbeat_and_management_buckets_are_separate(
    client: TestClient, register: Callable[..., dict[str, Any]], make_key: Callable[..., str]
) -> None:
    register("nightly-backup")
    key = present(make_key("write", heartbeat_rate_limit=1, management_rate_limit=2))
    assert client.post("/heartbeat", json=BEAT, headers=key).status_code == 201
    assert client.post("/heartbeat", json=BEAT, headers=key).status_code == 429
    # v1 and v2 heartbeats share the key's heartbeat bucket
    assert client.post("/v2/heartbeats", json=BEAT, headers=key).status_code == 429

    reads = [client.get("/service", headers=key) for _ in range(3)]

    assert [r.status_code for r in reads] == [200, 200, 429]
    assert [limit_headers(r) for r in reads] == [("2", "1"), ("2", "0"), ("2", "0")]
    assert "Retry-After" in reads[2].headers


@on_each_storage(medic_rate_limit_heartbeats=100, medic_rate_limit_management=20)
def test_keys_without_their_own_limits_get_the_settings_defaults(
    client: TestClient, register: Callable[..., dict[str, Any]], make_key: Callable[..., str]
) -> None:
    register("nightly-backup")
    key = present(make_key("write"))

    beat = client.post("/heartbeat", json=BEAT, headers=key)
    listing = client.get("/service", headers=key)

    assert (beat.status_code, limit_headers(beat)) == (201, ("100", "99"))
    assert (listing.status_code, limit_headers(listing)) == (200, ("20", "19"))


@on_each_storage()
def test_two_keys_have_independent_buckets(
    client: TestClient, register: Callable[..., dict[str, Any]], make_key: Callable[..., str]
) -> None:
    register("nightly-backup")
    first = present(make_key("write", heartbeat_rate_limit=1))
    second = present(make_key("write", heartbeat_rate_limit=1))

    assert client.post("/heartbeat", json=BEAT, headers=first).status_code == 201
    assert client.post("/heartbeat", json=BEAT, headers=first).status_code == 429
    answer = client.post("/heartbeat", json=BEAT, headers=second)

    assert (answer.status_code, limit_headers(answer)) == (201, ("1", "0"))


# --- 5. the verified-key cache --------------------------------------------------------


class CountingHasher:
    """Wraps the module's PasswordHasher and counts verifications (argon2 runs)."""

    def __init__(self, inner: PasswordHasher) -> None:
        self.inner = inner
        self.verifications = 0

    def hash(self, password: str) -> str:
        return self.inner.hash(password)

    def verify(self, hashed: str, password: str) -> bool:
        self.verifications += 1
        return self.inner.verify(hashed, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher(keys._hasher)
    monkeypatch.setattr(keys, "_hasher", counting)
    return counting


def test_a_verified_key_is_not_verified_again_while_cached(
    client: TestClient, make_key: Callable[..., str], hasher: CountingHasher
) -> None:
    key = make_key("write")
    for style in STYLES * 3:
        assert client.get("/v2/services", headers=present(key, style)).status_code == 200
    assert hasher.verifications == 1

    other = make_key("read")
    for _ in range(3):
        assert client.get("/v2/services", headers=present(other)).status_code == 200
    assert hasher.verifications == 2


@pytest.mark.parametrize("settings_overrides", [{"medic_key_cache_seconds": 0}], ids=["no-cache"])
def test_without_a_cache_every_request_is_verified(
    client: TestClient, make_key: Callable[..., str], hasher: CountingHasher
) -> None:
    key = make_key("read")
    for _ in range(3):
        assert client.get("/v2/services", headers=present(key)).status_code == 200
    assert hasher.verifications == 3
