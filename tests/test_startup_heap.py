"""A serving process freezes what it built at start-up, so the cycle collector's full
collections walk only what requests create (medic.startup_heap says what that was worth)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FREEZE_COUNT = "\nimport gc\nprint(gc.get_freeze_count())\n"


def frozen_after(code: str, tmp_path: Path) -> int:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL") and not key.startswith("MEDIC_")
    }
    env["MEDIC_SQLITE_PATH"] = str(tmp_path / "medic.db")
    done = subprocess.run(
        [sys.executable, "-c", code + FREEZE_COUNT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.splitlines()[-1])


def test_an_api_worker_freezes_its_start_up_objects(tmp_path: Path) -> None:
    """uvicorn's factory call, as in each `medic api` worker."""
    assert frozen_after("from medic.app import create_app\ncreate_app()", tmp_path) > 100_000


def test_an_app_built_for_a_caller_leaves_the_heap_alone(tmp_path: Path) -> None:
    """Tests and `medic up` build apps with their own process; only a server freezes."""
    code = (
        "from medic.app import create_app\nfrom medic.config import get_settings\n"
        "create_app(get_settings())"
    )
    assert frozen_after(code, tmp_path) == 0
