"""MCP over HTTP as an assistant reaches it: `medic_server` (the app on a real socket)
and `connect(key)`, an official MCP client session with that bearer key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from medic.app import create_app
from medic.process import MedicProcess
from tests.processes import serving

REQUEST_TIMEOUT = 30.0
Connect = Callable[[str | None], AbstractAsyncContextManager[ClientSession]]


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
    async def session(key: str | None) -> AsyncIterator[ClientSession]:
        timeout = httpx2.Timeout(REQUEST_TIMEOUT)
        async with (
            httpx2.AsyncClient(headers=bearer(key), timeout=timeout) as http,
            streamable_http_client(f"{medic_server}/mcp", http_client=http) as (read, write),
            ClientSession(read, write, read_timeout_seconds=REQUEST_TIMEOUT) as client,
        ):
            await client.initialize()
            yield client

    return session
