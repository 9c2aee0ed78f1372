"""The retry loop: which failures retry, how long it waits, what it reports."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from taskline.errors import ProviderError
from taskline.llm.retry import Failure, RetryPolicy, call_with_retries, retry_after_seconds

pytestmark = pytest.mark.anyio


class Flaky:
    """Fails with the given failures in turn, then answers."""

    def __init__(self, *failures: Failure) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise FailureRaised(self.failures.pop(0))
        return "answer"


class FailureRaised(Exception):
    def __init__(self, failure: Failure) -> None:
        self.failure = failure


def classify(exc: Exception) -> Failure | None:
    return exc.failure if isinstance(exc, FailureRaised) else None


class Sleeps:
    """Records the waits instead of sleeping them."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


RATE_LIMITED = Failure("HTTP 429: slow down", retryable=True, status_code=429)
SERVER_ERROR = Failure("HTTP 500: boom", retryable=True, status_code=500)
REFUSED = Failure("HTTP 401: bad key", retryable=False, status_code=401)


def test_backoff_doubles_with_equal_jitter_and_is_capped() -> None:
    policy = RetryPolicy(base_delay_seconds=1.0, max_delay_seconds=5.0)

    assert [policy.delay_seconds(n, None, 0.0) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 2.5]
    assert [policy.delay_seconds(n, None, 0.999) for n in (1, 2, 3, 4)] == pytest.approx(
        [0.9995, 1.999, 3.998, 4.9975]
    )


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retry_after_seconds=60.0)

    assert policy.delay_seconds(1, 7.0, 0.9) == 7.0
    assert policy.delay_seconds(1, 600.0, 0.9) == 60.0


def test_retry_after_header_forms() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    in_90_seconds = format_datetime(datetime(2026, 1, 1, 12, 1, 30, tzinfo=UTC), usegmt=True)

    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"retry-after": "1.5"}) == 1.5
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "3"}) == 0.25
    assert retry_after_seconds({"retry-after": in_90_seconds}, now=now) == 90.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


async def test_retries_until_success_and_reports_the_failures() -> None:
    attempt, sleeps = Flaky(RATE_LIMITED, SERVER_ERROR), Sleeps()
    policy = RetryPolicy(max_attempts=3, base_delay_seconds=1.0)

    retried = await call_with_retries(
        attempt, classify, policy=policy, provider="p", model="m", sleep=sleeps, jitter=lambda: 0.5
    )

    assert (retried.value, retried.attempts) == ("answer", 3)
    assert retried.attempt_errors == ("HTTP 429: slow down", "HTTP 500: boom")
    assert sleeps.seconds == [0.75, 1.5]


async def test_server_retry_after_replaces_the_backoff() -> None:
    asked = Failure("HTTP 429: wait", retryable=True, status_code=429, retry_after_seconds=4.0)
    sleeps = Sleeps()

    await call_with_retries(
        Flaky(asked), classify, policy=RetryPolicy(), provider="p", model="m", sleep=sleeps
    )

    assert sleeps.seconds == [4.0]


async def test_gives_up_after_max_attempts() -> None:
    attempt, sleeps = Flaky(SERVER_ERROR, SERVER_ERROR, SERVER_ERROR), Sleeps()

    with pytest.raises(ProviderError) as caught:
        await call_with_retries(
            attempt,
            classify,
            policy=RetryPolicy(max_attempts=2),
            provider="p",
            model="m",
            sleep=sleeps,
        )

    assert str(caught.value) == "p:m failed after 2 attempts: HTTP 500: boom"
    assert caught.value.attempt_errors == ("HTTP 500: boom", "HTTP 500: boom")
    assert attempt.calls == 2
    assert len(sleeps.seconds) == 1
    assert isinstance(caught.value.__cause__, FailureRaised)


async def test_non_retryable_failure_stops_at_once() -> None:
    attempt, sleeps = Flaky(REFUSED), Sleeps()

    with pytest.raises(ProviderError) as caught:
        await call_with_retries(
            attempt, classify, policy=RetryPolicy(), provider="p", model="m", sleep=sleeps
        )

    assert (caught.value.status_code, caught.value.attempts, attempt.calls) == (401, 1, 1)
    assert sleeps.seconds == []


async def test_exceptions_that_are_not_the_providers_propagate() -> None:
    async def broken() -> str:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await call_with_retries(broken, classify, policy=RetryPolicy(), provider="p", model="m")


async def test_whole_attempt_is_bounded_by_the_timeout() -> None:
    async def hangs() -> str:
        await asyncio.sleep(10)
        return "never"

    policy = RetryPolicy(max_attempts=2, timeout_seconds=0.05)
    with pytest.raises(ProviderError) as caught:
        await call_with_retries(
            hangs, classify, policy=policy, provider="p", model="m", sleep=Sleeps()
        )

    assert caught.value.attempt_errors == ("timed out after 0.05s", "timed out after 0.05s")


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts must be at least 1"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="timeout_seconds must be greater than 0"):
        RetryPolicy(timeout_seconds=0)
