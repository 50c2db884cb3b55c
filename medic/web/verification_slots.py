"""Where and how many argon2 verifications run in this process.

Each verification takes the key's memory cost (64 MiB by default) and, with the
default four lanes, four CPU threads for about 0.3 s. Unbounded, 60 bogus keys at once
took the API from 177 MB to 2.3 GB and delayed a valid heartbeat by 3 s. Here they run
on a pool of their own, `size` threads (MEDIC_KEY_VERIFICATIONS), so at most `size`
run at once; the others wait as coroutines, which hold no thread and no memory to
speak of; past `16 * size` waiting, a request is answered 429 with `Retry-After: 1` at
once rather than queued behind a flood; and one client address has at most
`PER_CLIENT` different keys in verification at once (more: 429 at once), so a single
client cannot fill the waiting room. The pool's threads (and the lanes argon2
starts from them) run at the lowest CPU priority (nice 19, Linux), so requests that need
no verification (keys already verified: medic.ops.keys caches them) keep the CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from medic.ops.errors import RateLimited

T = TypeVar("T")
WAITING_PER_SLOT = 16
PER_CLIENT = 4
NICENESS = 19


def _lower_priority() -> None:
    """On Linux a thread has its own nice value, and the threads it starts inherit it."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)


class VerificationSlots:
    def __init__(self, size: int) -> None:
        self.size = size
        self.max_waiting = WAITING_PER_SLOT * size
        self.waiting = 0
        self.per_client: dict[str, Counter[str]] = {}
        self._pool = ThreadPoolExecutor(
            max_workers=size, thread_name_prefix="argon2", initializer=_lower_priority
        )
        # One semaphore per event loop: a process (or a test) may run more than one.
        self._semaphores: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Semaphore
        ] = weakref.WeakKeyDictionary()

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.size)
        return semaphore

    @contextlib.contextmanager
    def for_client(self, client: str | None, key: str) -> Iterator[None]:
        """Count `key` (a fingerprint) among `client`'s keys in verification while the
        block runs; RateLimited when it already has PER_CLIENT others. Requests naming a
        key already in verification for it join that one and cost nothing: a host's 64
        connections sharing one key, all arriving as the key cache expires, are one."""
        if client is None:
            yield
            return
        keys = self.per_client.get(client, Counter())
        if key not in keys and len(keys) >= PER_CLIENT:
            raise RateLimited(
                "too many keys from this address are being verified at once; retry after 1 s",
                {"Retry-After": "1"},
            )
        keys[key] += 1
        self.per_client[client] = keys
        try:
            yield
        finally:
            keys[key] -= 1
            if not keys[key]:
                del keys[key]
            if not keys:
                self.per_client.pop(client, None)

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """`function(*args)` on the pool, once a slot is free; RateLimited when too many
        are waiting already."""
        semaphore = self._semaphore()
        if semaphore.locked() and self.waiting >= self.max_waiting:
            raise RateLimited(
                "too many API keys are being verified at once; retry after 1 s",
                {"Retry-After": "1"},
            )
        self.waiting += 1
        try:
            await semaphore.acquire()
        finally:
            self.waiting -= 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)
        finally:
            semaphore.release()
