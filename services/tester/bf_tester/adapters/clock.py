"""The real clock (timezone-aware UTC wall time, and a monotonic counter)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class SystemClock:
    """:class:`bf_tester.ports.Clock` on the operating system's clocks."""

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""
        return time.monotonic()
