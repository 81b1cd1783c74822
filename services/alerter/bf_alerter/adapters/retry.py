"""Delivery retry policy as data, with the one function that says what is retried."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bf_alerter.ports import Delivery


class Outcome(StrEnum):
    """How one HTTP attempt ended (also the ``outcome`` label of the attempt metric)."""

    OK = "ok"
    SERVER_ERROR = "server_error"  # 5xx
    THROTTLED = "throttled"  # 429, 408
    REJECTED = "rejected"  # other 3xx/4xx: the receiver refuses; retrying cannot help
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"  # DNS, refused, reset, TLS
    BLOCKED = "blocked"  # the target resolves to a private/loopback address (SSRF guard)


#: Outcomes worth another attempt.
RETRYABLE: frozenset[Outcome] = frozenset({Outcome.SERVER_ERROR, Outcome.THROTTLED, Outcome.TIMEOUT, Outcome.UNREACHABLE})


def should_retry(outcome: Outcome) -> bool:
    """True when an attempt that ended with ``outcome`` is retried."""
    return outcome in RETRYABLE


def outcome_of_status(status: int) -> Outcome:
    """Classify an HTTP status (redirects are not followed: a webhook must answer itself)."""
    if 200 <= status < 300:
        return Outcome.OK
    if status in (408, 429):
        return Outcome.THROTTLED
    if status >= 500:
        return Outcome.SERVER_ERROR
    return Outcome.REJECTED


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries; waits ``base_s``, ``base_s*factor``, ... capped at ``max_s``."""

    attempts: int = 5
    base_s: float = 0.5
    factor: float = 2.0
    max_s: float = 8.0

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (1-based; 0 for the first)."""
        if attempt <= 1:
            return 0.0
        return min(self.max_s, self.base_s * self.factor ** (attempt - 2))


Attempt = Callable[[], Awaitable[tuple[Outcome, str]]]
Sleep = Callable[[float], Awaitable[None]]


async def deliver_with_retries(attempt: Attempt, policy: RetryPolicy, sleep: Sleep) -> Delivery:
    """Run ``attempt`` until it succeeds, fails permanently, or the attempts are used up."""
    detail = ""
    for n in range(1, policy.attempts + 1):
        if n > 1:
            await sleep(policy.delay_before(n))
        outcome, detail = await attempt()
        if outcome is Outcome.OK:
            return Delivery(ok=True, attempts=n)
        if not should_retry(outcome):
            return Delivery(ok=False, attempts=n, error=f"{outcome.value}: {detail}")
    return Delivery(ok=False, attempts=policy.attempts, error=f"gave up: {detail}")
