"""When a failed test is retried: a policy as data, with the random source injected.

Only the retryable codes of :mod:`bf_shared.codes` (exchange unavailable, rate limited,
clock skew) are retried; they say nothing about the key. The delay before attempt ``n + 1``
is "full jitter" exponential backoff: uniform in ``[0, min(cap, base * 2**(n-1))]``, so
thousands of connections that failed together during an outage do not come back together.
Two floors apply: ``min_s`` (never hammer) and the exchange's own ``Retry-After`` when it
throttled us (honoured even above the cap: the exchange knows best). Attempts are bounded:
after ``max_attempts`` the failure stands until the user, a rotation or an attestation asks
again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import Field

from bf_shared.codes import ErrorCode, should_retry
from bf_shared.messages import Frozen, ProbeReply

#: Returns a float uniformly in [0, 1), like :meth:`random.Random.random`.
RandomSource = Callable[[], float]


class RetryPolicy(Frozen):
    """Bounded exponential backoff with full jitter."""

    max_attempts: int = Field(default=6, ge=1, description="Tries in total, the first one included")
    base_s: float = Field(default=5.0, gt=0, description="Backoff ceiling of the first retry")
    cap_s: float = Field(default=600.0, gt=0, description="Largest backoff ceiling")
    min_s: float = Field(default=1.0, ge=0, description="Smallest delay, whatever the jitter")

    def ceiling_s(self, attempt: int) -> float:
        """The largest jittered delay after a failed ``attempt`` (1-based)."""
        exponent = min(max(attempt - 1, 0), 62)  # 2**62 already dwarfs any cap
        return min(self.cap_s, self.base_s * 2.0**exponent)

    def delay_s(self, attempt: int, rand: RandomSource, retry_after_s: float | None = None) -> float:
        """The delay after a failed ``attempt``: jitter, floored by ``min_s`` and Retry-After."""
        jitter = rand() * self.ceiling_s(attempt)
        return max(self.min_s, retry_after_s or 0.0, jitter)

    def next_retry_at(
        self,
        code: ErrorCode | None,
        attempt: int,
        *,
        now: datetime,
        rand: RandomSource,
        retry_after_s: float | None = None,
    ) -> datetime | None:
        """When to run attempt ``attempt + 1``; None when ``code`` is not retried or tries are used up."""
        if not should_retry(code) or attempt >= self.max_attempts:
            return None
        return now + timedelta(seconds=self.delay_s(attempt, rand, retry_after_s))


def retry_after_s(reply: ProbeReply) -> float | None:
    """The longest Retry-After any probe of ``reply`` reported, if any."""
    errors = [o.error for o in reply.outcomes if o.error is not None]
    if reply.error is not None:
        errors.append(reply.error)
    hints = [e.retry_after_s for e in errors if e.retry_after_s]
    return max(hints) if hints else None
