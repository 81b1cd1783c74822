"""Time, injected: probe durations and ``Retry-After`` dates are computed from a :class:`Clock`."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """The two readings the connector needs."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps (durations, cache ages)."""
        ...

    def time(self) -> float:
        """Wall-clock seconds since the epoch (HTTP dates)."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def time(self) -> float:
        """``time.time()``."""
        return time.time()
