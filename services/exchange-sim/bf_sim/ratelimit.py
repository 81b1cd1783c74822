"""Optional request-weight accounting against the exchanges' documented limits (off by default)."""

from __future__ import annotations

from dataclasses import dataclass

from bf_sim.clock import Clock


@dataclass(frozen=True)
class Quota:
    """The state of one bucket after a request was counted."""

    allowed: bool
    limit: int
    remaining: int
    reset_ms: int  # until the window restarts


class FixedWindowLimiter:
    """Fixed windows per bucket; a request that would overflow its bucket is refused."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[int, int]] = {}  # bucket -> (window start, used)

    def hit(self, bucket: str, weight: int, limit: int, window_ms: int) -> Quota:
        """Count ``weight`` against ``bucket`` unless that exceeds ``limit``."""
        now = self._clock.now_ms()
        start, used = self._windows.get(bucket, (now, 0))
        if now - start >= window_ms:
            start, used = now, 0
        allowed = used + weight <= limit
        if allowed:
            used += weight
        self._windows[bucket] = (start, used)
        return Quota(allowed=allowed, limit=limit, remaining=max(0, limit - used), reset_ms=start + window_ms - now)

    def clear(self) -> None:
        """Forget every bucket."""
        self._windows.clear()
