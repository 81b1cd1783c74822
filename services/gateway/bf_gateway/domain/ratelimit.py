"""A sliding-window attempt limiter (in memory, per process) with an injected clock."""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable


class SlidingWindow:
    """At most ``limit`` attempts per key in any ``window_s`` seconds.

    Memory is bounded: at most ``max_keys`` keys are tracked, the least recently used is
    forgotten first. Per process on purpose: several gateway replicas each allow ``limit``,
    which still bounds online password guessing to a handful per minute.
    """

    def __init__(
        self, limit: int, window_s: float, clock: Callable[[], float], *, max_keys: int = 100_000
    ) -> None:
        self._limit = limit
        self._window = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def hit(self, key: str) -> int:
        """Record an attempt; returns 0 if allowed, else the seconds to wait (attempt not recorded)."""
        now = self._clock()
        hits = self._hits.pop(key, None) or deque()
        while hits and hits[0] <= now - self._window:
            hits.popleft()
        if len(hits) >= self._limit:
            self._hits[key] = hits
            return max(1, math.ceil(hits[0] + self._window - now))
        hits.append(now)
        self._hits[key] = hits
        while len(self._hits) > self._max_keys:
            self._hits.popitem(last=False)
        return 0

    def reset(self, key: str) -> None:
        """Forget the key's attempts (after a successful login)."""
        self._hits.pop(key, None)
