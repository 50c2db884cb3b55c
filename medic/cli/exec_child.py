"""Run a job's command for `medic exec`: its stdin inherited, its stdout and stderr passed
through to ours (each to its own) while the last bytes of both are kept for the report,
signals forwarded, and its exit status as a shell reports it.

Without a terminal (cron, systemd, Kubernetes, CI) the command gets a process group of
its own, and SIGTERM, SIGINT and SIGHUP sent to `medic exec` reach the whole group once.
At a terminal it stays in the foreground group, where Ctrl-C and a hang-up already reach
it, so only SIGTERM is forwarded.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import IO, TextIO

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# After the command exits, a pipe still held open by something it left running (a
# daemon) is read until it stays quiet this long.
QUIET_AFTER_EXIT = 1.0


class OutputTail:
    """The last `limit` bytes written to stdout and stderr together, in arrival order."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._data = bytearray()
        self._lock = threading.Lock()

    def add(self, chunk: bytes) -> None:
        with self._lock:
            self._data += chunk[-self.limit :]
            if len(self._data) > self.limit:
                del self._data[: len(self._data) - self.limit]

    def text(self) -> str:
        with self._lock:
            return bytes(self._data).decode("utf-8", errors="replace")


@dataclass
class Finished:
    """How the command ended: `exit_code` as a shell gives it (128 + N when signal N
    killed it, 127 not found, 126 not executable)."""

    exit_code: int
    killed_by: int | None = None
    received: list[int] = field(default_factory=list)
    passed_on: set[int] = field(default_factory=set)
    not_started: str | None = None
    output: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.killed_by is None

    def describe(self, duration: float) -> str:
        """The first lines of the report: how it ended, when, and the signals it was
        sent. (Not the command line: its arguments may hold secrets.)"""
        if self.not_started is not None:
            lines = [f"{self.not_started} (exit code {self.exit_code})"]
        elif self.killed_by is not None:
            lines = [f"killed by {_name(self.killed_by)} (exit code {self.exit_code})"]
        else:
            lines = [f"exit code {self.exit_code}"]
        lines[0] += f" after {duration:.3f} s"
        for number in dict.fromkeys(self.received):
            if number in self.passed_on:
                lines.append(f"medic exec received {_name(number)} and passed it on to the command")
            else:
                lines.append(f"medic exec received {_name(number)} (the command got it directly)")
        return "\n".join(lines)


def _name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class ChildRun:
    """One run of `argv`; `run()` blocks until it has ended and its output is drained."""

    def __init__(self, argv: Sequence[str], tail_bytes: int = 10 * 1024) -> None:
        self.argv = list(argv)
        self.tail = OutputTail(tail_bytes)
        self.received: list[int] = []
        self.passed_on: set[int] = set()
        self._handled = 0
        self.own_group = not _stdin_is_terminal()
        self.process: subprocess.Popen[bytes] | None = None
        self.exited = threading.Event()

    def run(self) -> Finished:
        previous = {number: signal.signal(number, self._on_signal) for number in FORWARDED}
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            try:
                self.process = subprocess.Popen(
                    self.argv,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    process_group=0 if self.own_group else None,
                )
            except FileNotFoundError:
                return self._not_started(127, f"command not found: {self.argv[0]}")
            except PermissionError:
                return self._not_started(126, f"command not executable: {self.argv[0]}")
            except OSError as exc:
                return self._not_started(126, f"cannot run {self.argv[0]}: {exc.strerror}")
            self._forward_new()
            assert self.process.stdout is not None and self.process.stderr is not None
            streams = [(self.process.stdout, sys.stdout), (self.process.stderr, sys.stderr)]
            reader = threading.Thread(target=self._copy, args=(streams,), daemon=True)
            reader.start()
            returncode = self.process.wait()
            self.exited.set()
            reader.join()
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
        if returncode < 0:
            return self._finished(128 - returncode, killed_by=-returncode)
        return self._finished(returncode)

    def _not_started(self, exit_code: int, why: str) -> Finished:
        sys.stderr.write(f"medic exec: {why}\n")
        sys.stderr.flush()
        return Finished(exit_code, received=list(self.received), not_started=why)

    def _finished(self, exit_code: int, killed_by: int | None = None) -> Finished:
        return Finished(
            exit_code,
            killed_by,
            received=list(self.received),
            passed_on=set(self.passed_on),
            output=self.tail.text(),
        )

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        self.received.append(number)
        self._forward_new()

    def _forward_new(self) -> None:
        """Pass on the signals received since the last call, once the command runs (a
        signal that came while it was being started waits for it)."""
        if self.process is None:
            return
        while self._handled < len(self.received):
            number = self.received[self._handled]
            self._handled += 1
            if self.own_group or number == signal.SIGTERM:
                self._forward(self.process, number)

    def _forward(self, process: subprocess.Popen[bytes], number: int) -> None:
        if process.returncode is not None:
            return
        try:
            if self.own_group:
                os.killpg(process.pid, number)
            else:
                process.send_signal(number)
        except ProcessLookupError:
            return
        self.passed_on.add(number)

    def _copy(self, streams: list[tuple[IO[bytes], TextIO]]) -> None:
        """Pass both pipes through chunk by chunk (so the command's output shows as it
        comes), keeping the tail, until end of file, or until they stay quiet after the
        command exited. One thread reads both, stdout first when both have data, so
        output written to stdout before stderr is kept in that order."""
        open_pipes = {pipe.fileno(): (pipe, _sink(out)) for pipe, out in streams}
        order = [pipe.fileno() for pipe, _ in streams]
        quiet_since: float | None = None
        try:
            while open_pipes:
                ready, _, _ = select.select(list(open_pipes), [], [], 0.2)
                if not ready:
                    if self.exited.is_set():
                        quiet_since = quiet_since or time.monotonic()
                        if time.monotonic() - quiet_since > QUIET_AFTER_EXIT:
                            return
                    continue
                quiet_since = None
                for fd in (fd for fd in order if fd in ready):
                    pipe, write = open_pipes[fd]
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        pipe.close()
                        del open_pipes[fd]
                        continue
                    self.tail.add(chunk)
                    write(chunk)
        finally:
            for pipe, _ in open_pipes.values():
                pipe.close()


def _sink(stream: TextIO) -> Callable[[bytes], None]:
    """Write bytes to `stream`'s file descriptor (or, without one, to the stream itself);
    a closed terminal or pipe must not stop the command, so errors are dropped."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None

    def write(chunk: bytes) -> None:
        try:
            if fd is None:
                stream.write(chunk.decode("utf-8", errors="replace"))
                stream.flush()
                return
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
        except (OSError, ValueError):
            pass

    return write


def _stdin_is_terminal() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False
