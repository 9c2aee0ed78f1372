"""Our own retry loop around provider calls.

The SDKs are built with `max_retries=0`, so every HTTP attempt happens here and
is counted: rate limits (429), server errors (5xx), timeouts and dropped
connections are retried with exponential backoff and jitter, a `Retry-After`
the server sends is honoured, and everything else fails at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from taskline.errors import ProviderError

T = TypeVar("T")

RETRYABLE_STATUS_CODES = frozenset({408, 409, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to try a call and how long to wait for each attempt."""

    max_attempts: int = 3
    """Attempts in all, the first included."""
    timeout_seconds: float = 120.0
    """Limit for one attempt, from sending the request to reading the whole answer."""
    base_delay_seconds: float = 0.5
    """Backoff before the second attempt; it doubles before each later one."""
    max_delay_seconds: float = 30.0
    """Longest backoff between attempts."""
    max_retry_after_seconds: float = 120.0
    """Longest wait a server's `Retry-After` may ask for; longer requests are cut to this."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be greater than 0")

    def delay_seconds(
        self, failed_attempts: int, retry_after_seconds: float | None, jitter: float
    ) -> float:
        """The wait after `failed_attempts` failures; `jitter` is uniform in [0, 1)."""
        if retry_after_seconds is not None:
            return min(max(retry_after_seconds, 0.0), self.max_retry_after_seconds)
        ceiling = min(
            self.max_delay_seconds, self.base_delay_seconds * 2.0 ** (failed_attempts - 1)
        )
        # "equal jitter": at least half the backoff, so clients that failed
        # together spread out without any of them retrying immediately
        return ceiling / 2 + ceiling / 2 * jitter


@dataclass(frozen=True)
class Failure:
    """What went wrong in one attempt, as the adapter that made it understands it."""

    summary: str
    """One line for logs and for `ModelResponse.attempt_errors`."""
    retryable: bool
    """Whether another attempt may succeed."""
    status_code: int | None = None
    """The HTTP status, when there was a response."""
    retry_after_seconds: float | None = None
    """How long the server asked us to wait."""


@dataclass(frozen=True)
class Retried(Generic[T]):
    """The value of the attempt that succeeded, and the failures before it."""

    value: T
    attempts: int
    attempt_errors: tuple[str, ...]


def is_retryable_status(status_code: int) -> bool:
    """Rate limits, conflicts, request timeouts and every server error."""
    return status_code in RETRYABLE_STATUS_CODES or status_code >= 500


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The wait a response asks for: `retry-after-ms`, or `Retry-After` in seconds or as a date."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    classify: Callable[[Exception], Failure | None],
    *,
    policy: RetryPolicy,
    provider: str,
    model: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    jitter: Callable[[], float] = random.random,
) -> Retried[T]:
    """Run `attempt` until it succeeds, fails for good, or the attempts run out.

    `classify` turns an exception of the attempt into a `Failure`; exceptions it
    returns None for are not the provider's doing and propagate unchanged. The
    last failure is raised as `ProviderError` with every attempt's summary.
    """
    errors: list[str] = []
    for number in range(1, policy.max_attempts + 1):
        try:
            # The SDK's own timeout applies per read; this one bounds the whole attempt.
            async with asyncio.timeout(policy.timeout_seconds):
                value = await attempt()
        except TimeoutError as exc:
            failure = Failure(f"timed out after {policy.timeout_seconds:g}s", retryable=True)
            cause: Exception = exc
        except Exception as exc:
            classified = classify(exc)
            if classified is None:
                raise
            failure, cause = classified, exc
        else:
            return Retried(value, number, tuple(errors))
        errors.append(failure.summary)
        if not failure.retryable or number == policy.max_attempts:
            raise ProviderError(
                provider=provider,
                model=model,
                detail=failure.summary,
                status_code=failure.status_code,
                attempts=number,
                attempt_errors=errors,
            ) from cause
        await sleep(policy.delay_seconds(number, failure.retry_after_seconds, jitter()))
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
