"""A process imports what it uses, when it uses it (issue 16: memory).

Every module a process imports stays in its memory: the Slack bolt app with aiohttp
(~16 MB), the MCP SDK (~16 MB), the redis and RabbitMQ clients, the holiday calendars,
cryptography's AES-GCM for sealed secrets (~8 MB), the operator commands with the
database layer. These are checked in a fresh
interpreter, as the process starts: `medic up` on the embedded default (no Slack, no
Redis, no MCP request yet) loads none of them, and the `medic` command itself, which
`medic api`'s supervisor and each of its workers import first, loads no database layer.
bench/memory.py measures what that is worth.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

UP = """
import medic.console
from medic.config import get_settings
from medic.process import MedicProcess
from medic.app import create_app
from medic.background_work import BackgroundWork
settings = get_settings()
medic = MedicProcess(settings)
create_app(medic=medic)
BackgroundWork(settings, medic.db)
"""


def modules_after(code: str, tmp_path: Path) -> set[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL")
        and not key.startswith(("MEDIC_", "SLACK_", "PAGERDUTY_"))
    }
    env["MEDIC_SQLITE_PATH"] = str(tmp_path / "medic.db")
    code += "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def loaded(modules: set[str], *packages: str) -> list[str]:
    return sorted(p for p in packages if any(m == p or m.startswith(p + ".") for m in modules))


def operator_commands(modules: set[str]) -> set[str]:
    """medic.cli's modules beyond the settings every command reads."""
    return {m for m in modules if m.startswith("medic.cli.")} - {"medic.cli.settings"}


def test_embedded_medic_up_loads_no_unused_door_or_client(tmp_path: Path) -> None:
    modules = modules_after(UP, tmp_path)
    assert "medic.api.v2" in modules and "dramatiq" in modules  # what it serves is there
    unused = ("slack_bolt", "aiohttp", "mcp", "medic.mcp_server.server", "redis", "pika")
    unused += ("cryptography",)
    assert loaded(modules, *unused, "dramatiq.brokers.redis", "holidays") == []
    assert operator_commands(modules) == set()


def test_the_medic_command_loads_its_server_commands_only(tmp_path: Path) -> None:
    modules = modules_after("import medic.console", tmp_path)
    assert loaded(modules, "sqlalchemy", "fastapi", "uvicorn", "httpx", "medic.ops") == []
    assert operator_commands(modules) == set()
