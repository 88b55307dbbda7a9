"""Retry policy: which failures, how long, and the Retry-After cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from saasllm import _policy
from saasllm._policy import (
    MAX_RETRY_AFTER,
    Resend,
    backoff_delay,
    build_timeout,
    is_retryable_exception,
    is_retryable_status,
    parse_retry_after,
    retry_delay,
)

REPEATABLE = [Resend.IDEMPOTENT, Resend.KEYED, Resend.UNCHARGED]
REQUEST = httpx.Request("POST", "http://x")


@pytest.mark.parametrize("resend", REPEATABLE)
@pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
def test_retryable_statuses(status: int, resend: Resend) -> None:
    assert is_retryable_status(resend, status)


@pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
def test_a_change_that_may_have_applied_is_not_resent(status: int) -> None:
    assert not is_retryable_status(Resend.NEVER, status)


@pytest.mark.parametrize("resend", list(Resend))
@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422, 500, 501])
def test_never_retried_statuses(status: int, resend: Resend) -> None:
    assert not is_retryable_status(resend, status)


def test_x_should_retry_overrides() -> None:
    assert not is_retryable_status(Resend.IDEMPOTENT, 503, {"x-should-retry": "false"})
    assert is_retryable_status(Resend.NEVER, 500, {"x-should-retry": "true"})


@pytest.mark.parametrize("resend", list(Resend))
def test_a_request_that_never_left_is_always_resent(resend: Resend) -> None:
    assert is_retryable_exception(resend, httpx.ConnectError("refused", request=REQUEST))
    assert is_retryable_exception(resend, httpx.ConnectTimeout("slow", request=REQUEST))
    assert is_retryable_exception(resend, httpx.PoolTimeout("pool", request=REQUEST))


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("read", request=REQUEST),
        httpx.RemoteProtocolError("eof", request=REQUEST),
        httpx.ReadError("reset", request=REQUEST),
    ],
)
def test_a_lost_answer_is_resent_only_where_a_repeat_is_harmless(exc: httpx.RequestError) -> None:
    assert is_retryable_exception(Resend.IDEMPOTENT, exc)
    assert is_retryable_exception(Resend.KEYED, exc)
    # An LLM call may have cost tokens; a change without a key may have applied.
    assert not is_retryable_exception(Resend.UNCHARGED, exc)
    assert not is_retryable_exception(Resend.NEVER, exc)


def test_mistakes_are_never_resent() -> None:
    assert not is_retryable_exception(Resend.IDEMPOTENT, ValueError())
    assert not is_retryable_exception(
        Resend.IDEMPOTENT, httpx.UnsupportedProtocol("ftp", request=REQUEST)
    )


def test_retry_after_seconds_and_floats() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": " 1.5 "}) == 1.5
    assert parse_retry_after({"retry-after": "0"}) == 0.0


def test_retry_after_ms_wins() -> None:
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25


def test_retry_after_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"retry-after": header}, now=now) == pytest.approx(30.0)
    past = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after({"retry-after": past}, now=now) == 0.0


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf", ""])
def test_retry_after_garbage_is_ignored(value: str) -> None:
    assert parse_retry_after({"retry-after": value}) is None


def test_retry_after_absent() -> None:
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after-ms": "x"}) is None


def test_works_with_httpx_headers_case_insensitively() -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": "2"})) == 2.0
    assert parse_retry_after(httpx.Headers({"Retry-After-Ms": "20"})) == 0.02


@pytest.mark.parametrize("n", range(8))
def test_backoff_bounds(n: int) -> None:
    base = min(0.5 * 2**n, 8.0)
    assert backoff_delay(n, rand=lambda: 0.0) == base
    assert backoff_delay(n, rand=lambda: 0.999999) == pytest.approx(base * 0.75, rel=1e-5)
    for _ in range(50):
        assert base * 0.75 <= backoff_delay(n) <= base


def test_retry_delay_gives_up_after_max_retries() -> None:
    assert retry_delay(retries_taken=2, max_retries=2, retry_after=None) is None
    assert retry_delay(retries_taken=0, max_retries=0, retry_after=1.0) is None


def test_retry_delay_honours_retry_after_up_to_the_cap() -> None:
    assert retry_delay(retries_taken=0, max_retries=2, retry_after=1.25) == 1.25
    assert retry_delay(retries_taken=0, max_retries=2, retry_after=MAX_RETRY_AFTER) == 60.0
    assert retry_delay(retries_taken=0, max_retries=2, retry_after=MAX_RETRY_AFTER + 1) is None


def test_retry_delay_falls_back_to_backoff() -> None:
    assert retry_delay(retries_taken=1, max_retries=2, retry_after=None, rand=lambda: 0.0) == 1.0


def test_defaults() -> None:
    assert _policy.DEFAULT_MAX_RETRIES == 2
    assert MAX_RETRY_AFTER == 60.0
    timeout = build_timeout(60.0)
    assert timeout.connect == 5.0
    assert timeout.read == 60.0
    custom = httpx.Timeout(3.0)
    assert build_timeout(custom) is custom
