"""The real clock."""

from __future__ import annotations

import time


class SystemClock:
    """:class:`bf_runner.ports.Clock` from the system's wall clock."""

    def now_ms(self) -> int:
        """Milliseconds since the epoch."""
        return time.time_ns() // 1_000_000
