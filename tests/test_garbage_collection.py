"""A serving process tunes the cycle collector once it has started (medic.garbage_collection
says why and what it was worth): start-up objects frozen, young collections rarer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from medic.garbage_collection import YOUNG_COLLECTION_THRESHOLD

COLLECTOR = "\nimport gc, json\nprint(json.dumps([gc.get_freeze_count(), gc.get_threshold()[0]]))\n"


def collector_after(code: str, tmp_path: Path) -> tuple[int, int]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL") and not key.startswith("MEDIC_")
    }
    env["MEDIC_SQLITE_PATH"] = str(tmp_path / "medic.db")
    done = subprocess.run(
        [sys.executable, "-c", code + COLLECTOR],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    frozen, threshold = json.loads(done.stdout.splitlines()[-1])
    return frozen, threshold


def test_an_api_worker_tunes_the_collector_for_serving(tmp_path: Path) -> None:
    """uvicorn's factory call, as in each `medic api` worker."""
    frozen, threshold = collector_after("from medic.app import create_app\ncreate_app()", tmp_path)
    assert frozen > 100_000
    assert threshold == YOUNG_COLLECTION_THRESHOLD


def test_an_app_built_for_a_caller_leaves_the_collector_alone(tmp_path: Path) -> None:
    """Tests build apps in their own process; only a server tunes its collector."""
    code = (
        "from medic.app import create_app\nfrom medic.config import get_settings\n"
        "create_app(get_settings())"
    )
    untouched = collector_after("pass", tmp_path)  # this Python's own defaults
    assert untouched[0] == 0
    assert collector_after(code, tmp_path) == untouched
