"""`medic api --workers N`: a listening socket per worker, so connections spread evenly.

uvicorn's workers share one listening socket, and the worker that wakes first accepts
every connection waiting: 64 clients connecting at once were measured landing 64 to 0
and 41 to 23 on two workers (bench/ingest.py), one core left idle while the other's
answers queued. With SO_REUSEPORT each worker listens on a socket of its own and the
kernel spreads new connections across them. uvicorn's supervisor still starts, watches
and restarts the workers; the socket it hands each one is a `WorkerSocket`, which
becomes that worker's own socket when the worker unpickles its arguments, so the
supervisor holds none (a socket nobody accepts on would get connections too).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from uvicorn import Config
from uvicorn.supervisors import Multiprocess


@dataclass(frozen=True, slots=True)
class WorkerSocket:
    host: str
    port: int

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        return (listening_socket, (self.host, self.port))


def listening_socket(host: str, port: int, reuse_port: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def run_workers(config: Config) -> None:
    """Serve with `config.workers` processes until SIGINT or SIGTERM. An address that
    is taken stops the start here, once, not in every worker uvicorn would restart;
    the check binds without SO_REUSEPORT, so another `medic api` still listening
    there (an old one not yet stopped) is refused, not silently joined."""
    try:
        listening_socket(config.host, config.port, reuse_port=False).close()
    except OSError as exc:
        raise SystemExit(f"medic: cannot listen on {config.host}:{config.port}: {exc}") from None
    Multiprocess(config, sockets=[WorkerSocket(config.host, config.port)]).run()  # type: ignore[list-item]
