"""The `medic_cli` fixture: run `medic …` commands as an operator, their HTTP calls
(`httpx.request` in medic.cli.remote) answered by the real app in-process, with a
real key and database, exactly as they would be over the network."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from medic.console import cli

Run = Callable[..., Result]


@pytest.fixture
def cli_scope() -> str:
    """The scope of the CLI's key: `write` (operating); a module that configures trust
    (playbooks, teams, targets, routing) overrides it with `admin`."""
    return "write"


@pytest.fixture
def medic_cli(
    client: TestClient,
    make_key: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    cli_scope: str,
) -> Run:
    """Run `medic ARGS…` with a `cli_scope` key named `operator`; expects exit code `code`."""

    def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
        kwargs.pop("timeout", None)  # the in-process client has no network to wait on
        return client.request(method, url, **kwargs)

    monkeypatch.setattr("medic.cli.remote.httpx.request", request)
    monkeypatch.setenv("MEDIC_URL", "http://testserver")
    monkeypatch.setenv("MEDIC_API_KEY", make_key(cli_scope, name="operator"))
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run
