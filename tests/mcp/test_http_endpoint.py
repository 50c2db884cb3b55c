"""The /mcp endpoint itself: bearer keys or 401, DNS-rebinding protection, and no other
route of the API shadowed by it (its rate limit: test_http_rate_limit.py)."""

from __future__ import annotations

from collections.abc import Callable

import httpx2
import pytest
from mcp import MCPError

from medic.ops import keys
from medic.ops.actor import cli_operator
from medic.process import MedicProcess
from tests.mcp_client import Connect, bearer

pytestmark = pytest.mark.anyio

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


async def _post(base: str, headers: dict[str, str]) -> httpx2.Response:
    async with httpx2.AsyncClient(base_url=base, timeout=30) as http:
        return await http.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, **headers})


async def test_mcp_without_a_key_is_401_with_a_bearer_challenge(medic_server: str) -> None:
    response = await _post(medic_server, {})

    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge
    # Medic has no OAuth server and points clients at none.
    assert "resource_metadata" not in challenge


async def test_a_wrong_or_revoked_key_is_401_and_a_valid_one_connects(
    medic: MedicProcess, medic_server: str, make_key: Callable[..., str]
) -> None:
    key = make_key("read", name="to-revoke")
    assert (await _post(medic_server, bearer(key))).status_code == 200
    assert (await _post(medic_server, bearer("mdk_abcdefghijkl_wrong"))).status_code == 401

    keys.revoke_key(medic.context(cli_operator()), keys.RevokeKey.of(key="to-revoke"))

    assert (await _post(medic_server, bearer(key))).status_code == 401


def _leaves(group: BaseException) -> list[BaseException]:
    if isinstance(group, BaseExceptionGroup):
        return [leaf for inner in group.exceptions for leaf in _leaves(inner)]
    return [group]


async def test_the_mcp_client_cannot_connect_without_a_key(connect: Connect) -> None:
    with pytest.raises(BaseExceptionGroup) as raised:
        async with connect(None):
            pass
    [refused] = _leaves(raised.value)
    assert isinstance(refused, MCPError) and "error response" in refused.message


async def test_a_request_for_another_host_is_refused(
    medic_server: str, make_key: Callable[..., str]
) -> None:
    """DNS rebinding: a page on evil.example resolving to this server gets nothing."""
    response = await _post(medic_server, {**bearer(make_key("read")), "Host": "evil.example"})
    assert response.status_code == 421

    from_page = await _post(
        medic_server, {**bearer(make_key("read")), "Origin": "http://evil.example"}
    )
    assert from_page.status_code == 403


async def test_the_other_routes_answer_as_before(
    medic_server: str, make_key: Callable[..., str]
) -> None:
    async with httpx2.AsyncClient(base_url=medic_server, timeout=30) as http:
        health = await http.get("/health")
        anonymous = await http.get("/v2/services")
        listed = await http.get("/v2/services", headers=bearer(make_key("read")))
        unknown = await http.get("/no/such/route")
        under_mcp = await http.get("/mcp/anything")
        oauth = await http.get("/.well-known/oauth-protected-resource/mcp")
        schema = await http.get("/openapi.json")

    assert health.status_code == 200
    assert anonymous.status_code == 401 and anonymous.json()["success"] is False
    assert listed.status_code == 200 and listed.json()["results"]["items"] == []
    assert unknown.status_code == 404 and unknown.json()["success"] is False
    assert under_mcp.status_code == 404 and under_mcp.json()["success"] is False
    assert oauth.status_code == 404
    assert "/mcp" not in schema.json()["paths"]
