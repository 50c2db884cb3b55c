"""What an assistant's MCP session costs against its key's rate limits.

* Protocol messages (initialize, notifications, ping, the tools/resources/prompts
  listings) are free, however many a client sends.
* Tool calls, resource reads and prompts count against the key's own MCP bucket
  (MEDIC_RATE_LIMIT_MCP_TOOLS, 120 a minute by default), never against its REST
  management limit; a flood of them gets 429 with Retry-After.
* The body is classified safely: a batch counts each call in it (at least one), and
  anything that is not a JSON-RPC message (bad JSON, bad UTF-8, deep nesting) counts
  as one call and is answered with a 4xx, never a 5xx.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from medic.config import Settings
from medic.mcp_server.rate_limit import counted_calls
from tests.mcp_client import bearer

pytestmark = pytest.mark.anyio

MCP_HEADERS = {"Accept": "application/json, text/event-stream"}
CLIENT_INFO = {"name": "probe", "version": "1"}
PROTOCOL_MESSAGES: list[dict[str, Any]] = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": CLIENT_INFO},
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "ping"},
    {"jsonrpc": "2.0", "id": 3, "method": "tools/list"},
    {"jsonrpc": "2.0", "id": 4, "method": "resources/list"},
    {"jsonrpc": "2.0", "id": 5, "method": "resources/templates/list"},
    {"jsonrpc": "2.0", "id": 6, "method": "prompts/list"},
    {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}},
]


def tool_call(number: int = 1, name: str = "list_playbooks") -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 100 + number,
        "method": "tools/call",
        "params": {"name": name, "arguments": {}},
    }


async def post(
    base: str, key: str, body: Any, http: httpx2.AsyncClient | None = None
) -> httpx2.Response:
    """One POST /mcp as the key; `body` is JSON, or bytes sent as they are."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {**MCP_HEADERS, **bearer(key), "Content-Type": "application/json"}
    if http is not None:
        return await http.post(base + "/mcp", content=content, headers=headers)
    async with httpx2.AsyncClient(timeout=30) as own:
        return await own.post(base + "/mcp", content=content, headers=headers)


@pytest.mark.parametrize("settings_overrides", [{"medic_rate_limit_mcp_tools": 2}])
async def test_protocol_messages_are_free_and_tool_calls_are_counted(
    medic_server: str, make_key: Callable[..., str]
) -> None:
    key = make_key("read")

    for _ in range(5):  # 40 protocol messages on a limit of 2
        for message in PROTOCOL_MESSAGES:
            answer = await post(medic_server, key, message)
            assert answer.status_code in (200, 202), (message["method"], answer.text)
            assert "x-ratelimit-limit" not in answer.headers
    calls = [await post(medic_server, key, tool_call(n)) for n in range(3)]

    assert [c.status_code for c in calls] == [200, 200, 429]
    assert [c.headers["x-ratelimit-remaining"] for c in calls] == ["1", "0", "0"]
    assert calls[0].headers["x-ratelimit-limit"] == "2"
    refused = calls[2]
    assert 1 <= int(refused.headers["retry-after"]) <= 61
    assert "rate limit of 2 mcp_tools requests per minute" in refused.json()["message"]
    # Listings still answer once the tool calls are used up.
    assert (await post(medic_server, key, PROTOCOL_MESSAGES[3])).status_code == 200


@pytest.mark.parametrize("backend", ["sqlite"])  # the limiter is not in the database
async def test_a_tool_call_flood_gets_429_with_retry_after_at_the_default(
    medic_server: str, make_key: Callable[..., str], settings: Settings
) -> None:
    """With the shipped default (the test settings leave it alone)."""
    default = Settings.model_fields["medic_rate_limit_mcp_tools"].default
    assert settings.medic_rate_limit_mcp_tools == default == 120
    key = make_key("read")

    async with httpx2.AsyncClient(timeout=30) as http:
        statuses = [
            (await post(medic_server, key, tool_call(n), http)).status_code for n in range(default)
        ]
        flood = [await post(medic_server, key, tool_call(n), http) for n in range(3)]

    assert statuses == [200] * default
    assert [f.status_code for f in flood] == [429, 429, 429]
    assert all(1 <= int(f.headers["retry-after"]) <= 61 for f in flood)


@pytest.mark.parametrize(
    "settings_overrides", [{"medic_rate_limit_mcp_tools": 3, "medic_rate_limit_management": 1}]
)
async def test_tool_calls_and_rest_calls_have_separate_buckets(
    medic_server: str, make_key: Callable[..., str]
) -> None:
    key = make_key("read")
    async with httpx2.AsyncClient(base_url=medic_server, timeout=30) as http:
        rest = [(await http.get("/v2/services", headers=bearer(key))).status_code for _ in "ab"]

    calls = [(await post(medic_server, key, tool_call(n))).status_code for n in range(4)]

    assert rest == [200, 429]
    assert calls == [200, 200, 200, 429]


@pytest.mark.parametrize("settings_overrides", [{"medic_rate_limit_mcp_tools": 2}])
async def test_resource_reads_and_prompts_are_counted(
    medic_server: str, make_key: Callable[..., str]
) -> None:
    key = make_key("read")
    read = {"jsonrpc": "2.0", "id": 7, "method": "resources/read"}
    read["params"] = {"uri": "medic://services"}
    prompt = {"jsonrpc": "2.0", "id": 8, "method": "prompts/get", "params": {"name": "triage"}}

    answers = [await post(medic_server, key, body) for body in (read, prompt, read)]

    assert [a.status_code for a in answers] == [200, 200, 429]


@pytest.mark.parametrize("settings_overrides", [{"medic_rate_limit_mcp_tools": 2}])
async def test_a_batch_counts_every_call_in_it(
    medic_server: str, make_key: Callable[..., str]
) -> None:
    key = make_key("read")

    listings = await post(medic_server, key, PROTOCOL_MESSAGES * 3)
    three_calls = await post(medic_server, key, [tool_call(n) for n in range(3)])

    # MCP has no batches any more: refused, and counted once like any invalid request.
    assert listings.status_code == 400 and listings.headers["x-ratelimit-remaining"] == "1"
    assert three_calls.status_code == 429


BAD_BODIES = {
    "not JSON": b"{not json",
    "bad UTF-8": b'{"method": "\xff\xfe"}',
    "empty": b"",
    "deeply nested": b"[" * 200_000 + b"]" * 200_000,
    "a number": b"42",
    "an empty batch": b"[]",
    "method not a string": b'{"jsonrpc": "2.0", "id": 1, "method": ["tools/list"]}',
}


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("settings_overrides", [{"medic_rate_limit_mcp_tools": 1}])
@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_a_body_that_is_no_jsonrpc_message_is_a_4xx_and_counts_once(
    medic_server: str, make_key: Callable[..., str], body: bytes
) -> None:
    key = make_key("read")

    first = await post(medic_server, key, body)
    second = await post(medic_server, key, body)

    assert 400 <= first.status_code < 500, first.text
    assert first.headers["x-ratelimit-remaining"] == "0"
    assert second.status_code == 429


@pytest.mark.parametrize("settings_overrides", [{"medic_max_body_bytes": 4096}])
async def test_a_body_over_the_size_limit_is_413_before_it_is_parsed(
    medic_server: str, make_key: Callable[..., str]
) -> None:
    huge = json.dumps([tool_call(n) for n in range(200)]).encode()

    answer = await post(medic_server, make_key("read"), huge)

    assert answer.status_code == 413


@pytest.mark.parametrize(
    ("body", "calls"),
    [
        (PROTOCOL_MESSAGES[0], 0),
        ({"jsonrpc": "2.0", "id": 1, "result": {}}, 0),  # the client answering the server
        ({"jsonrpc": "2.0", "id": 1, "error": {"code": 1, "message": "no"}}, 0),
        ({"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel", "params": {}}, 0),
        (tool_call(), 1),
        ({"jsonrpc": "2.0", "id": 1, "method": "completion/complete"}, 1),  # not known: counted
        ({"jsonrpc": "2.0", "id": 1}, 1),
        ([tool_call(1), PROTOCOL_MESSAGES[2], tool_call(2), "junk"], 3),
        ([PROTOCOL_MESSAGES[2], PROTOCOL_MESSAGES[3]], 1),
        ([], 1),
    ],
)
def test_what_counts_in_a_body(body: Any, calls: int) -> None:
    assert counted_calls(json.dumps(body).encode()) == calls
