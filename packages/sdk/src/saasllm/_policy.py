"""When to resend a request, how long to wait first, and the timeouts; no I/O here.

Both transports (async and sync) ask these functions, so they cannot drift apart
on what is safe to resend.

A request that never left (the connection was not made) is always resent. One
that reached the gateway is resent only as its endpoint's :class:`Resend` allows:
reads, requests carrying an ``Idempotency-Key``, and LLM calls whose error
answer came before the first byte (nothing was charged). Only "try again"
answers are resent (408, 429, 502, 503, 504): 409 means done already and 403 no
credits or no access, which waiting fixes neither.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum

import httpx

__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "RETRYABLE_STATUSES",
    "Resend",
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


class Resend(Enum):
    """What a lost or "try again" answer allows for one endpoint, declared with it.

    ``NEVER``: the effect may have happened (a second key issued, a change applied
    twice), so only a request that never left is resent; the caller decides.
    ``IDEMPOTENT``: a read, or a PUT/DELETE whose second application changes nothing.
    ``KEYED``: carries an ``Idempotency-Key`` (made once per call when none is
    given), so the gateway answers a repeat with the first result.
    ``UNCHARGED``: an LLM call. An error status comes before the first byte and
    charges nothing, so it is resent; a connection lost afterwards may have cost
    tokens, so it is not.
    """

    NEVER = "never"
    IDEMPOTENT = "idempotent"
    KEYED = "keyed"
    UNCHARGED = "uncharged"


# The request cannot have reached the gateway, so sending it again is always safe.
_NEVER_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
# The request may have reached the gateway: the answer was lost or never finished.
_LOST_ANSWER: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


def build_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """A short connect timeout so a dead host fails fast whatever the read budget."""
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(timeout, connect=CONNECT_TIMEOUT)


def is_retryable_exception(resend: Resend, exc: BaseException) -> bool:
    """A transport failure: resent if it never left, or if a repeat is harmless anyway."""
    if isinstance(exc, _NEVER_SENT):
        return True
    return resend in (Resend.IDEMPOTENT, Resend.KEYED) and isinstance(exc, _LOST_ANSWER)


def is_retryable_status(
    resend: Resend, status: int, headers: Mapping[str, str] | None = None
) -> bool:
    """An explicit ``x-should-retry`` from the server overrides the status and the endpoint."""
    if headers is not None:
        hint = headers.get("x-should-retry")
        if hint == "true":
            return True
        if hint == "false":
            return False
    return resend is not Resend.NEVER and status in RETRYABLE_STATUSES


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
