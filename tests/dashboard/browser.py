"""A real browser for the dashboard tests: Debian's chromium (/usr/bin/chromium, never a
downloaded one) driven by Playwright, and axe-core (npm, pinned, installed into
.cache/axe-core on first use) injected into pages to check accessibility.

Missing chromium or Playwright FAILS under CI (the CI environment variable; .ci/run
installs chromium) and skips loudly elsewhere.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("MEDIC_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking"]
AXE = "axe-core@4.14.1"
AXE_CACHE = ROOT / ".cache" / "axe-core"
AXE_JS = AXE_CACHE / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(f"SKIPPED LOUDLY: {reason}")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless chromium for one test module; each test opens its own contexts.

    Not for the whole run: Playwright's sync API keeps an event loop running in the
    thread while it is started, and the asyncio tests that follow on the same worker
    (MCP, anyio) would fail with "Cannot run the event loop while another loop is
    running". A module's fixtures are torn down before the next module's tests."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing: apt-get install chromium (CI installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def install_axe() -> Path:
    """npm install the pinned axe-core into .cache/ once (concurrent runs wait on a lock)."""
    AXE_CACHE.mkdir(parents=True, exist_ok=True)
    marker = AXE_CACHE / "installed.json"
    with (AXE_CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and json.loads(marker.read_text()) == AXE and AXE_JS.exists():
            return AXE_JS
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm is missing: apt-get install npm (axe-core comes from npm)")
        done = subprocess.run(
            [npm, "install", "--prefix", str(AXE_CACHE), "--no-audit", "--no-fund", AXE],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0 or not AXE_JS.exists():
            unavailable(f"npm could not install {AXE}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        marker.write_text(json.dumps(AXE))
    return AXE_JS


@pytest.fixture(scope="session")
def axe_source() -> str:
    return install_axe().read_text()


def serious_violations(page: Any, axe_source: str) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (the page's
    context must bypass CSP: the page itself allows no injected script)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source)
    results = page.evaluate("async () => await window.axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:3])
        for v in results["violations"]
        if v["impact"] in SERIOUS
    ]
