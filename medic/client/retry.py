"""How hard a report to Medic is retried: exponential backoff with full jitter inside a
small time budget, so a job is never held long by a monitor that is down."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class Retry:
    """`budget` bounds one report in seconds, every attempt and pause included; pause n
    is a random time in [0, min(cap, base * 2**n)] (full jitter spreads the retries of
    many jobs that failed together), or what the server's `Retry-After` asks."""

    budget: float = 10.0
    base: float = 0.5
    cap: float = 4.0
    max_attempts: int = 6

    def __post_init__(self) -> None:
        if self.budget < 0 or self.base < 0 or self.cap < 0 or self.max_attempts < 1:
            raise ValueError("Retry: budget, base and cap must be >= 0, max_attempts >= 1")

    def attempts(self, timeout: float) -> Attempts:
        return Attempts(self, timeout)


NO_RETRY = Retry(budget=0, max_attempts=1)


def retryable(status_code: int) -> bool:
    """A server error or a rate limit may pass; any other 4xx will be answered the same
    way again (an unknown name, a bad key)."""
    return status_code == 429 or status_code >= 500


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date; None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Attempts:
    """The attempts of one report: each request's timeout, and the pause before the next
    attempt, or None once the budget or the attempts are spent."""

    def __init__(self, retry: Retry, timeout: float) -> None:
        self.retry, self.timeout = retry, timeout
        self.deadline = time.monotonic() + retry.budget
        self.made = 0

    def request_timeout(self) -> float:
        """The client's timeout, shortened to what is left of the budget (at least 1 s, so
        a request can still be answered)."""
        self.made += 1
        left = self.deadline - time.monotonic()
        return max(1.0, min(self.timeout, left)) if self.retry.budget else self.timeout

    def pause(self, retry_after: float | None = None) -> float | None:
        if self.made >= self.retry.max_attempts:
            return None
        if retry_after is not None:
            wait = retry_after
        else:
            wait = random.uniform(0, min(self.retry.cap, self.retry.base * 2 ** (self.made - 1)))
        if time.monotonic() + wait >= self.deadline:
            return None
        return wait
