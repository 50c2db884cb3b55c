"""The agent's footprint (SRE-21): the stripped release binary's size, and its idle
memory (VmRSS) after 60 s of long polling against `medic up`. Target: under 2 MB each
(the PRD's ceiling is 5 MB).

    .venv/bin/python bench/agent.py [--seconds 60]

Builds agent/ with cargo (Debian's /usr/bin/cargo when installed; agent/.cargo/config.toml
makes the binary static, so no shared library's pages are in its VmRSS), starts
`medic up` on a free port in a temporary directory, enrolls host `bench-1`, runs the
agent against it with MEDIC_AGENT_WAIT=30 and an empty allow-list, and reads
/proc/<pid>/status. Exits 1 when a figure is over its target.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
AGENT = ROOT / "agent"
BINARY = AGENT / "target" / "release" / "medic-agent"
MEDIC = Path(sys.executable).parent / "medic"
TARGET_BYTES = 2 * 1024 * 1024
MB = 1024 * 1024


def build() -> Path:
    cargo = "/usr/bin/cargo" if os.access("/usr/bin/cargo", os.X_OK) else shutil.which("cargo")
    if cargo is None:
        sys.exit("cargo is missing: apt-get install cargo librust-rustls-dev (see .ci/run)")
    if not os.environ.get("MEDIC_BENCH_NO_BUILD"):
        subprocess.run([cargo, "build", "--release", "--quiet"], cwd=AGENT, check=True)
    return BINARY


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def status(pid: int) -> dict[str, str]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return fields


def proportional(pid: int) -> int:
    """PSS in kB: resident pages, each shared one divided by the processes mapping it."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def baseline() -> int:
    """VmRSS in kB of an idle /bin/sleep: what any glibc program starts with here."""
    sleeper = subprocess.Popen(["sleep", "5"])
    try:
        time.sleep(0.5)
        return kib(status(sleeper.pid)["VmRSS"])
    finally:
        sleeper.kill()
        sleeper.wait()


def kib(value: str) -> int:
    return int(re.match(r"(\d+)", value).group(1))  # type: ignore[union-attr]


def wait_until(what: str, probe: object, seconds: float) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = probe()  # type: ignore[operator]
        except httpx.HTTPError:
            found = None
        if found:
            return found
        time.sleep(0.2)
    sys.exit(f"timed out waiting for {what}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="idle polling before VmRSS")
    args = parser.parse_args()
    binary = build()
    size = binary.stat().st_size
    with tempfile.TemporaryDirectory(prefix="medic-agent-bench-") as temporary:
        directory = Path(temporary)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": temporary,
            "MEDIC_SQLITE_PATH": str(directory / "medic.db"),
            "MEDIC_BASE_URL": url,
        }
        log = directory / "up.log"
        with log.open("wb") as output:
            up = subprocess.Popen(
                [MEDIC, "up", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                cwd=directory,
                stdout=output,
                stderr=output,
            )
        agent = None
        try:
            wait_until("medic up", lambda: "Application startup complete" in log.read_text(), 60)
            key = re.search(r"^\s+(mdk_\S+)\s*$", log.read_text(), re.M)
            assert key is not None, "medic up printed no admin key"
            admin = {"Authorization": f"Bearer {key.group(1)}"}
            enrolled = httpx.post(
                f"{url}/v2/agents", json={"host": "bench-1"}, headers=admin, timeout=30
            ).json()["results"]
            scripts = directory / "scripts.d"
            scripts.mkdir(mode=0o755)
            agent = subprocess.Popen(
                [binary],
                env={
                    "MEDIC_AGENT_URL": url,
                    "MEDIC_AGENT_KEY": enrolled["key"],
                    "MEDIC_AGENT_SCRIPTS_DIR": str(scripts),
                    "MEDIC_AGENT_WAIT": "30",
                },
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_until(
                "the agent's first poll",
                lambda: httpx.get(f"{url}/v2/agents/bench-1", headers=admin, timeout=10).json()[
                    "results"
                ]["last_contact_at"],
                30,
            )
            time.sleep(args.seconds)
            assert agent.poll() is None, "the agent exited"
            figures = status(agent.pid)
            pss = proportional(agent.pid)
            floor = baseline()
        finally:
            if agent is not None:
                agent.kill()
                agent.wait()
            up.terminate()
            up.wait(timeout=30)
    rss = kib(figures["VmRSS"]) * 1024
    print(f"medic-agent binary (stripped, release): {size / MB:.2f} MB ({size} bytes)")
    print(
        f"medic-agent idle VmRSS after {args.seconds:.0f} s of long polling: {rss / MB:.2f} MB"
        f" ({figures['VmRSS']}; anonymous {figures.get('RssAnon', '?')},"
        f" file-backed {figures.get('RssFile', '?')}; peak {figures.get('VmHWM', '?')})"
    )
    print(
        f"  for scale: PSS (shared pages divided among their users) {pss / 1024:.2f} MB;"
        f" an idle /bin/sleep has VmRSS {floor / 1024:.2f} MB here (glibc and ld.so alone)"
    )
    print(f"target: < {TARGET_BYTES / MB:.0f} MB each")
    over = [name for name, value in (("binary", size), ("VmRSS", rss)) if value >= TARGET_BYTES]
    if over:
        print(f"OVER TARGET: {', '.join(over)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
