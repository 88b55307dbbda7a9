"""When to retry, how long to wait, and what every request carries; no I/O here.

Both clients call these same functions, so the sync and async SDKs cannot drift
apart on what is safe to resend.

Only failures that happen before any response body byte are retried, and only
those where resending cannot double an effect: the connection was never made, or
the gateway said "try again" (408, 429, 502, 503, 504). 409 means the job is
already completed and 403 means no credits or no access; waiting fixes neither.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "RETRYABLE_STATUSES",
    "backoff_delay",
    "build_timeout",
    "is_retryable_exception",
    "is_retryable_status",
    "parse_retry_after",
    "retry_delay",
]

DEFAULT_TIMEOUT = 60.0
CONNECT_TIMEOUT = 5.0
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
"""A server asking for a longer wait than this gets an immediate error instead."""

RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})

# The request cannot have reached the gateway, so sending it again is safe.
_RETRYABLE_EXCEPTIONS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)


def build_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """A short connect timeout so a dead host fails fast whatever the read budget."""
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(timeout, connect=CONNECT_TIMEOUT)


def is_retryable_exception(exc: BaseException) -> bool:
    return isinstance(exc, _RETRYABLE_EXCEPTIONS)


def is_retryable_status(status: int, headers: Mapping[str, str] | None = None) -> bool:
    """An explicit ``x-should-retry`` from the server overrides the status table."""
    if headers is not None:
        hint = headers.get("x-should-retry")
        if hint == "true":
            return True
        if hint == "false":
            return False
    return status in RETRYABLE_STATUSES


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, from ``retry-after-ms`` or ``Retry-After``.

    ``Retry-After`` may be seconds (floats accepted) or an HTTP date; a date in the
    past means "now" (0.0). Unparseable or negative values are ignored (None).
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            ms = float(raw_ms)
        except ValueError:
            ms = -1.0
        if ms >= 0 and ms == ms and ms != float("inf"):
            return ms / 1000.0
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:
        if seconds >= 0 and seconds == seconds and seconds != float("inf"):
            return seconds
        return None
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def backoff_delay(retries_taken: int, *, rand: Callable[[], float] = random.random) -> float:
    """``min(0.5 * 2**n, 8) * U(0.75, 1]``: the jitter keeps many clients from re-colliding."""
    base = min(INITIAL_RETRY_DELAY * 2.0**retries_taken, MAX_RETRY_DELAY)
    return base * (1.0 - 0.25 * rand())


def retry_delay(
    *,
    retries_taken: int,
    max_retries: int,
    retry_after: float | None,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """How long to sleep before the next attempt of a retryable failure, or None to give up.

    A ``Retry-After`` beyond :data:`MAX_RETRY_AFTER` gives up at once: the caller
    learns the wait from the error's ``retry_after`` rather than hanging for it.
    """
    if retries_taken >= max_retries:
        return None
    if retry_after is not None:
        if retry_after > MAX_RETRY_AFTER:
            return None
        return retry_after
    return backoff_delay(retries_taken, rand=rand)
