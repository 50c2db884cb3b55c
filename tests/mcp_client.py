"""MCP over HTTP as an assistant reaches it: `medic_server` (the app on a real socket)
and `connect(key)`, an official MCP client session with that bearer key.

`connect(key, elicit=answer)` declares the elicitation capability and answers the
server's questions with `answer` (what the client's user would click); without it, the
client declares none. `modern=True` speaks the 2026-07-28 protocol (`mcp.Client`, where a
question comes back as an InputRequiredResult the client answers and retries); the
default is the 2025-11-25 handshake (`ClientSession.initialize`), as hosts built on
older SDKs speak it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client, ClientSession
from mcp.client.session import ElicitationFnT
from mcp.client.streamable_http import streamable_http_client

from medic.app import create_app
from medic.process import MedicProcess
from tests.processes import serving

REQUEST_TIMEOUT = 30.0
Connect = Callable[..., AbstractAsyncContextManager[ClientSession]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def medic_server(medic: MedicProcess) -> Iterator[str]:
    """The API on a real socket; yields its base URL (http://127.0.0.1:PORT)."""
    with serving(create_app(medic=medic)) as url:
        yield url


def bearer(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


@pytest.fixture
def connect(medic_server: str) -> Connect:
    @asynccontextmanager
    async def session(
        key: str | None, elicit: ElicitationFnT | None = None, modern: bool = False
    ) -> AsyncIterator[Any]:
        timeout = httpx2.Timeout(REQUEST_TIMEOUT)
        async with httpx2.AsyncClient(headers=bearer(key), timeout=timeout) as http:
            transport = streamable_http_client(f"{medic_server}/mcp", http_client=http)
            if modern:
                async with Client(
                    transport,
                    read_timeout_seconds=REQUEST_TIMEOUT,
                    elicitation_callback=elicit,
                ) as client:
                    yield client
                return
            async with (
                transport as (read, write),
                ClientSession(
                    read,
                    write,
                    read_timeout_seconds=REQUEST_TIMEOUT,
                    elicitation_callback=elicit,
                ) as client,
            ):
                await client.initialize()
                yield client

    return session
