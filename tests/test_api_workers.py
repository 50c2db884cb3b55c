"""`medic api --workers N` spreads connections over its workers: each listens on a
socket of its own (SO_REUSEPORT), so clients connecting at once do not all land on
whichever worker woke first (medic.web.workers)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from medic.process import MedicProcess
from tests.processes import MEDIC, clean_env, free_port, stop_process, wait_for


@contextmanager
def medic_api(medic: MedicProcess, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = clean_env(
        DATABASE_URL=medic.settings.sqlalchemy_url,
        MEDIC_RATE_LIMITER_TYPE="memory",
        MEDIC_SECRETS_KEY=medic.settings.medic_secrets_key or "",
    )
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(MEDIC), "api", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=output,
        )
    try:
        yield process
    finally:
        stop_process(process)


LISTEN, ESTABLISHED = "0A", "01"


def sockets_on(port: int, state: str) -> set[str]:
    """The sockets bound to local `port` in `state`, as /proc/<pid>/fd links name them."""
    local = f":{port:04X}"
    return {
        f"socket:[{fields[9]}]"
        for fields in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
        if fields[1].endswith(local) and fields[3] == state
    }


def established_by_process(pids: list[int], port: int) -> dict[int, int]:
    """How many established connections to `port` each of `pids` holds."""
    established = sockets_on(port, ESTABLISHED)
    counts = {}
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        counts[pid] = sum(1 for fd in fds.iterdir() if _link(fd) in established)
    return counts


def _link(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:
        return ""


@pytest.mark.parametrize("backend", ["sqlite"])
def test_connections_opened_at_once_spread_over_the_workers(
    medic: MedicProcess, tmp_path: Path
) -> None:
    port = free_port()
    with medic_api(medic, port, tmp_path / "api.log") as api, ExitStack() as clients:

        def serving() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).is_success
            except httpx.HTTPError:
                assert api.poll() is None, (tmp_path / "api.log").read_text()
                return False

        wait_for("medic api to serve", serving, timeout=60)
        wait_for("both workers to listen", lambda: len(sockets_on(port, LISTEN)) == 2, 60)
        children = Path(f"/proc/{api.pid}/task/{api.pid}/children").read_text().split()
        for _ in range(32):
            clients.enter_context(socket.create_connection(("127.0.0.1", port)))

        def accepted() -> dict[int, int] | None:
            counts = established_by_process([int(pid) for pid in children], port)
            return counts if sum(counts.values()) == 32 else None

        counts = wait_for("the workers to accept all 32", accepted, timeout=30)
        busy = sorted(n for n in counts.values() if n)
        assert len(busy) == 2 and busy[0] >= 4, counts


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("held_by", ["another program", "another medic api"])
def test_a_port_in_use_stops_the_start_with_a_clear_message(
    medic: MedicProcess, tmp_path: Path, held_by: str
) -> None:
    """Another `medic api` listens with SO_REUSEPORT too: it is not joined either."""
    with socket.socket() as taken:
        if held_by == "another medic api":
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with medic_api(medic, port, tmp_path / "api.log") as api:
            assert api.wait(timeout=60) != 0
    assert f"cannot listen on 127.0.0.1:{port}" in (tmp_path / "api.log").read_text()
