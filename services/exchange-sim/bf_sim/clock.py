"""Injected clocks: the simulator never reads the wall clock directly."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of "now" in epoch milliseconds."""

    def now_ms(self) -> int:
        """Current time in milliseconds since the Unix epoch."""
        ...


class SystemClock:
    """The real wall clock."""

    def now_ms(self) -> int:
        """Current wall-clock time in milliseconds."""
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that only moves when told to (unit tests, deterministic runs)."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        """The time last set."""
        return self._now

    def advance(self, ms: int) -> None:
        """Move forward by ``ms`` milliseconds."""
        self._now += ms

    def set(self, now_ms: int) -> None:
        """Jump to ``now_ms``."""
        self._now = now_ms
