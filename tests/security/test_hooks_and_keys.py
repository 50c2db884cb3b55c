"""Signed hooks and API keys, attacked (issue 14, findings 8 and 9), on SQLite and
PostgreSQL:

* a captured signed hook request cannot be replayed, on the same replica or another
  one sharing Redis, nor sent to another playbook; a malformed timestamp is a 401;
* bogus keys that name a live key's prefix cannot make argon2 run unbounded: it runs
  for live prefixes only, a bounded number at once, once per bogus key within the
  cache time; and failed authentications are limited per client address (429).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlmodel import select

from medic.api.v2.hooks import hook_signature
from medic.app import create_app
from medic.config import Settings
from medic.models import ApiKey
from medic.ops import keys
from medic.ops.errors import RateLimited
from medic.process import MedicProcess
from medic.web.verification_slots import VerificationSlots
from tests.conftest import REDIS_URL, auth
from tests.executions.conftest import SECRETS_KEY
from tests.fakes.receiver import Receiver

HOOK_SECRET = "hook-secret-for-security-tests"
PLAYBOOK = """
name: {name}
approval: required
steps:
  - name: call
    type: webhook
    url: "{url}/{name}"
"""
BASE = {
    "medic_allowed_webhook_hosts": "127.0.0.1",
    "medic_secrets_key": SECRETS_KEY,
    "medic_playbook_hook_secret": HOOK_SECRET,
}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(BASE)


def with_settings(**values: Any) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("settings_overrides", [{**BASE, **values}])


def signed(body: bytes, playbook: str, timestamp: str | None = None) -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    path = f"/v2/hooks/playbooks/{playbook}"
    return {
        "X-Medic-Timestamp": timestamp,
        "X-Medic-Signature": hook_signature(HOOK_SECRET, timestamp, "POST", path, body),
        "Content-Type": "application/json",
    }


@pytest.fixture
def playbooks(
    register: Callable[..., dict[str, Any]],
    apply_playbook: Callable[[str], dict[str, Any]],
    webhook_receiver: Receiver,
) -> None:
    register("worker-1")
    for name in ("harmless", "dangerous"):
        apply_playbook(PLAYBOOK.format(name=name, url=webhook_receiver.url))


BODY = b'{"service": "worker-1", "reason": "deploy smoke test"}'


# --- hooks ----------------------------------------------------------------------------


@pytest.mark.usefixtures("playbooks")
def test_replayed_hook_is_refused(client: TestClient) -> None:
    headers = signed(BODY, "harmless")
    first = client.post("/v2/hooks/playbooks/harmless", content=BODY, headers=headers)
    assert first.status_code == 202, first.text

    for _ in range(2):
        replayed = client.post("/v2/hooks/playbooks/harmless", content=BODY, headers=headers)
        assert replayed.status_code == 401
        assert "already accepted" in replayed.json()["message"]

    fresh = client.post("/v2/hooks/playbooks/harmless", content=BODY, headers=signed(BODY, "x"))
    assert fresh.status_code == 401  # signed for another path
    resigned = signed(BODY, "harmless", str(int(time.time()) - 60))  # a new signature
    assert (
        client.post("/v2/hooks/playbooks/harmless", content=BODY, headers=resigned).status_code
        == 202
    )


def test_replayed_hook_is_refused_by_another_replica_sharing_redis(
    make_settings: Callable[..., Settings],
    medic: MedicProcess,
    make_key: Callable[..., str],
    webhook_receiver: Receiver,
    redis_namespace: str,
) -> None:
    """Two replicas of one deployment (same database, same Redis, same namespace): a
    request accepted by one is refused by the other."""
    settings = make_settings(
        medic_rate_limiter_type="redis",
        redis_url=REDIS_URL,
        medic_broker_namespace=redis_namespace,
    )
    admin = auth(make_key("admin", name="replica-admin"))
    replica_a, replica_b = MedicProcess(settings), MedicProcess(settings)
    try:
        with (
            TestClient(create_app(medic=replica_a)) as a,
            TestClient(create_app(medic=replica_b)) as b,
        ):
            yaml = PLAYBOOK.format(name="harmless", url=webhook_receiver.url)
            applied = a.post(
                "/v2/playbooks", content=yaml, headers={**admin, "Content-Type": "application/yaml"}
            )
            assert applied.status_code in (200, 201), applied.text
            body = b'{"reason": "from a deploy pipeline"}'
            headers = signed(body, "harmless")

            accepted = a.post("/v2/hooks/playbooks/harmless", content=body, headers=headers)
            replayed = b.post("/v2/hooks/playbooks/harmless", content=body, headers=headers)

            assert accepted.status_code == 202, accepted.text
            assert replayed.status_code == 401
            assert "already accepted" in replayed.json()["message"]
    finally:
        replica_a.db.dispose()
        replica_b.db.dispose()


@pytest.mark.usefixtures("playbooks")
def test_hook_signature_for_one_playbook_is_refused_for_another(client: TestClient) -> None:
    headers = signed(BODY, "harmless")

    moved = client.post("/v2/hooks/playbooks/dangerous", content=BODY, headers=headers)

    assert moved.status_code == 401
    assert "signature does not match" in moved.json()["message"]
    # The refused attempt consumed nothing: the request still works where it was signed.
    meant = client.post("/v2/hooks/playbooks/harmless", content=BODY, headers=headers)
    assert meant.status_code == 202, meant.text
    assert meant.json()["results"]["playbook"] == "harmless"


@pytest.mark.usefixtures("playbooks")
@pytest.mark.parametrize(
    "timestamp",
    [
        b"9" * 5000,
        b"9" * 400,
        b"\xb2\xb3",  # latin-1 superscripts: str.isdigit() says yes, int() says no
        "\u0661\u0667\u0660\u0660".encode(),  # Arabic-Indic digits, in UTF-8
        b"",
        b" 1700000000",
        b"+1700000000",
        b"-1",
        b"1e9",
        b"17000.5",
    ],
    ids=lambda value: repr(value[:12]),
)
def test_malformed_hook_timestamp_is_401(client: TestClient, timestamp: bytes) -> None:
    signature = hook_signature(
        HOOK_SECRET, timestamp.decode("latin-1"), "POST", "/v2/hooks/playbooks/harmless", BODY
    )
    headers = [
        (b"X-Medic-Timestamp", timestamp),
        (b"X-Medic-Signature", signature.encode()),
        (b"Content-Type", b"application/json"),
    ]

    answer = client.post("/v2/hooks/playbooks/harmless", content=BODY, headers=headers)

    assert answer.status_code == 401, answer.text
    assert answer.json()["success"] is False


# --- keys -----------------------------------------------------------------------------


class CountingHasher:
    """The tests' argon2, counting verifications and how many ran at once; each one
    takes `delay` seconds so that concurrent requests overlap, and waits for `gate`
    when a test closes it."""

    def __init__(self, inner: PasswordHasher, delay: float = 0.05) -> None:
        self.inner = inner
        self.delay = delay
        self.gate = threading.Event()
        self.gate.set()
        self.calls = 0
        self.running = 0
        self.peak = 0
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        return self.inner.hash(password)

    def verify(self, key_hash: str, password: str) -> bool:
        with self._lock:
            self.calls += 1
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            self.gate.wait(timeout=30)
            time.sleep(self.delay)
            return self.inner.verify(key_hash, password)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher(keys._hasher)
    monkeypatch.setattr(keys, "_hasher", counting)
    return counting


def bogus(real_key: str) -> str:
    """The real key's (non-secret) prefix with a random secret."""
    return f"mdk_{keys.split_key(real_key)}_{secrets.token_urlsafe(32)}"


def concurrently(call: Callable[[str, int], int], arguments: list[str]) -> list[int]:
    """`call(argument, n)` for each at once, the n-th from the n-th address."""
    with ThreadPoolExecutor(max_workers=len(arguments)) as pool:
        return list(pool.map(call, arguments, range(len(arguments))))


def from_address(client: TestClient, host: str) -> TestClient:
    """A client of the same running app (same event loop: the test client's portal) whose
    requests come from `host`."""
    other = TestClient(client.app, client=(host, 40000))
    other.portal = client.portal
    return other


@with_settings(medic_key_verifications=2)
def test_bogus_keys_with_a_live_prefix_do_not_run_argon2_unbounded(
    client: TestClient, medic: MedicProcess, make_key: Callable[..., str], hasher: CountingHasher
) -> None:
    live = make_key("write")
    valid = auth(live)
    clients = [from_address(client, f"198.51.100.{n}") for n in range(24)]

    def status(key: str, n: int = 0) -> int:
        return clients[n].get("/v2/services", headers=auth(key)).status_code

    # 24 different secrets at once, from 24 addresses: each needs argon2, but never more
    # than 2 run at a time.
    assert concurrently(status, [bogus(live) for _ in range(24)]) == [401] * 24
    assert hasher.calls == 24
    assert hasher.peak == 2

    # One bogus key again and again, at once and then in a row: verified once.
    repeated = bogus(live)
    assert concurrently(status, [repeated] * 12) == [401] * 12
    assert [status(repeated) for _ in range(10)] == [401] * 10
    assert hasher.calls == 25

    # Keys that cannot be valid never reach argon2.
    revoked = make_key("admin")
    expiring = make_key("admin", expires_at=datetime.now(UTC) + timedelta(hours=1))
    with medic.db.session() as session:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == keys.split_key(revoked))).one()
        row.revoked_at = datetime.now(UTC)
        gone = session.exec(select(ApiKey).where(ApiKey.prefix == keys.split_key(expiring))).one()
        gone.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        session.add_all([row, gone])
    cannot_be_valid = [
        bogus(revoked),
        revoked,
        bogus(expiring),
        f"mdk_{'z' * 12}_{secrets.token_urlsafe(32)}",
        "not-a-medic-key",
    ]
    assert [status(key) for key in cannot_be_valid] == [401] * 5
    assert hasher.calls == 25

    # The valid key: verified once, then cached; and after the cache forgets it, its row
    # (still live, same hash) vouches for it without argon2.
    assert client.get("/v2/services", headers=valid).status_code == 200
    assert hasher.calls == 26
    with medic.db.session() as session:
        key_id = session.exec(
            select(ApiKey.api_key_id).where(ApiKey.prefix == keys.split_key(live))
        ).one()
    medic.key_cache.forget(key_id)
    assert client.get("/v2/services", headers=valid).status_code == 200
    assert hasher.calls == 26


def test_one_address_cannot_fill_the_verification_queue(
    client: TestClient, make_key: Callable[..., str], hasher: CountingHasher
) -> None:
    """A burst from one address arrives before any of its failures is counted: past 4 of
    its keys in verification at once, the rest are answered 429 at once."""
    live = make_key("write")
    hasher.gate.clear()  # verifications block until the test opens the gate
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = [
            pool.submit(client.get, "/v2/services", headers=auth(bogus(live))) for _ in range(12)
        ]
        deadline = time.monotonic() + 30
        while sum(a.done() for a in answers) < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
        refused_at_once = [a.result() for a in answers if a.done()]
        hasher.gate.set()
        statuses = sorted(a.result().status_code for a in answers)

    assert [r.status_code for r in refused_at_once] == [429] * 8
    assert refused_at_once[0].headers["Retry-After"] == "1"
    assert "being verified" in refused_at_once[0].json()["message"]
    assert statuses == [401] * 4 + [429] * 8
    assert hasher.calls == 4


def test_one_hosts_connections_sharing_a_key_are_one_verification(
    client: TestClient, make_key: Callable[..., str], hasher: CountingHasher
) -> None:
    """A busy host's connections all arrive with its one key as the key cache expires:
    they join a single verification, none is refused as a burst of keys."""
    live = make_key("ingest")
    hasher.gate.clear()
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = [pool.submit(client.get, "/v2/services", headers=auth(live)) for _ in range(12)]
        time.sleep(0.5)
        hasher.gate.set()
        statuses = [a.result().status_code for a in answers]

    assert statuses == [403] * 12  # verified (an ingest key may not list), not 429
    assert hasher.calls == 1


def test_verifications_past_the_waiting_room_are_refused_at_once() -> None:
    """The bound itself: 1 slot busy and 16 waiting, the next request gets 429 and
    Retry-After at once instead of queueing behind a flood."""

    async def scenario() -> tuple[RateLimited, int]:
        slots = VerificationSlots(1)
        release = threading.Event()

        holder = asyncio.create_task(slots.run(release.wait))
        await asyncio.sleep(0.05)
        waiters = [asyncio.create_task(slots.run(time.sleep, 0)) for _ in range(16)]
        await asyncio.sleep(0.05)
        with pytest.raises(RateLimited) as refused:
            await slots.run(time.sleep, 0)
        waiting = slots.waiting
        release.set()
        await asyncio.gather(holder, *waiters)
        return refused.value, waiting

    refusal, waiting = asyncio.run(scenario())
    assert waiting == 16
    assert refusal.headers == {"Retry-After": "1"}


@with_settings(medic_rate_limit_auth_failures=3)
def test_failed_authentications_are_rate_limited_per_client(
    client: TestClient, medic: MedicProcess, make_key: Callable[..., str], hasher: CountingHasher
) -> None:
    live = make_key("write")
    assert client.get("/v2/services", headers=auth(live)).status_code == 200  # verified, cached
    calls = hasher.calls

    answers = [client.get("/v2/services", headers=auth(bogus(live))) for _ in range(5)]

    assert [a.status_code for a in answers] == [401, 401, 401, 429, 429]
    limited = answers[3]
    assert "failed authentications" in limited.json()["message"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert hasher.calls == calls + 3  # a refused client costs nothing more
    # Every door counts the same address: MCP answers 429 too.
    mcp = client.post("/mcp", json={}, headers=auth(bogus(live)))
    assert mcp.status_code == 429
    assert hasher.calls == calls + 3
    # The key this client already proved keeps working; another address is not limited.
    assert client.get("/v2/services", headers=auth(live)).status_code == 200
    elsewhere = TestClient(client.app, client=("203.0.113.7", 40000))
    assert elsewhere.get("/v2/services", headers=auth(bogus(live))).status_code == 401
    fresh = make_key("read")
    assert elsewhere.get("/v2/services", headers=auth(fresh)).status_code == 200
