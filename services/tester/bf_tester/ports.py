"""What the tester's handlers need from the outside world, as Protocols.

NATS implementations live in :mod:`bf_tester.adapters`; unit tests use hand-written fakes
that subclass these ports. Nothing here knows about NATS, FastStream or prometheus.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from bf_shared.messages import (
    CheckProgress,
    ChecksProgress,
    ConnectionVerdict,
    Message,
    ProbeProgress,
    ProbeReply,
    ProbeRequest,
)

from bf_tester.domain.model import CurrentTest, PendingRetry, RunOutcome
from bf_tester.domain.schedule import RetestEntry


class ProbeUnavailable(Exception):
    """The connector did not answer (timeout, no responder, bad reply). Platform trouble."""


class Clock(Protocol):
    """Wall-clock time (timezone-aware) and a monotonic counter."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class ProbePort(Protocol):
    """Ask the exchange's connector for facts about a key."""

    async def probe(self, request: ProbeRequest, timeout_s: float) -> ProbeReply:
        """The connector's reply; raises :class:`ProbeUnavailable` when there is none."""
        ...


class ProgressPort(Protocol):
    """Live progress of running tests: never durable, lost when nobody listens.

    The connector's per-probe outcomes come in; provisional and final checks go out to the
    connection's live feed (the gateway relays it to the dashboard).
    """

    def outcomes(
        self, test_id: str, deliver: Callable[[ProbeProgress], Awaitable[None]]
    ) -> AbstractAsyncContextManager[None]:
        """Hand every outcome reported for ``test_id`` to ``deliver``, one at a time, in
        arrival order, until the context exits. On exit, outcomes already received are
        delivered first (bounded in time), so none that preceded the reply is lost."""
        ...

    async def publish(self, connection_id: str, payload: CheckProgress | ChecksProgress) -> None:
        """Publish one item of the connection's live feed."""
        ...


class PublishPort(Protocol):
    """Publish an event or command durably (JetStream, de-duplicated on ``message_id``)."""

    async def publish(self, subject: str, message: Message) -> None: ...


class RetryScheduler(Protocol):
    """Pending retries, at most one per connection (the newest test wins)."""

    async def pending(self, connection_id: str) -> PendingRetry | None: ...

    async def schedule(self, retry: PendingRetry, *, replacing: str | None = None) -> bool:
        """Store ``retry``. With ``replacing`` (a run id), only if the pending retry is that run."""
        ...

    async def cancel(self, connection_id: str, *, only: str | None = None) -> None:
        """Drop the pending retry (with ``only``: if it still is that run)."""
        ...

    async def due(self, now: datetime, republish_after_s: float) -> list[PendingRetry]: ...

    async def mark_published(self, retry: PendingRetry, at: datetime) -> None: ...


class RunLedger(Protocol):
    """Per-run and per-connection bookkeeping: done runs, deletions, the current run."""

    async def is_done(self, run_id: str) -> bool: ...

    async def mark_done(self, run_id: str) -> None: ...

    async def outcome(self, run_id: str) -> RunOutcome | None: ...

    async def save_outcome(self, run_id: str, outcome: RunOutcome) -> None:
        """Remember what the run decided, before any of it is published."""
        ...

    async def is_deleted(self, connection_id: str) -> bool: ...

    async def mark_deleted(self, connection_id: str) -> None: ...

    async def current(self, connection_id: str) -> CurrentTest | None: ...

    async def claim(self, current: CurrentTest) -> bool:
        """Make ``current`` the connection's newest run, unless a newer command holds it."""
        ...

    async def forget(self, connection_id: str) -> None: ...


class VerdictStore(Protocol):
    """The newest verdict of each connection, which the connector checks before placing an order.

    Writes are compare-and-set on the revision ``read`` returned, so a slower replica never
    puts an older test's verdict over a newer one.
    """

    async def read(self, connection_id: str) -> tuple[ConnectionVerdict | None, int]:
        """The stored verdict (None when absent or deleted) and the revision to write against
        (0 when the key never existed)."""
        ...

    async def write(self, verdict: ConnectionVerdict, revision: int) -> bool:
        """Store ``verdict`` if the key is still at ``revision``; False when it moved on."""
        ...

    async def delete(self, connection_id: str) -> None:
        """Drop the connection's verdict (no-op when absent)."""
        ...


class RetestIndex(Protocol):
    """Online connections awaiting their periodic re-test."""

    async def get(self, connection_id: str) -> RetestEntry | None: ...

    async def put(self, entry: RetestEntry) -> None: ...

    async def remove(self, connection_id: str) -> None: ...

    async def all(self) -> list[RetestEntry]: ...


class SchedulerLease(Protocol):
    """Leadership of the scheduler loop among tester replicas."""

    async def acquire(self) -> bool:
        """Take or refresh the lease; True while this replica holds it."""
        ...

    async def release(self) -> None: ...


class TesterMetrics(Protocol):
    """What the tester counts (labels come from fixed vocabularies only)."""

    def test_finished(self, exchange: str, result: str, code: str, duration_s: float) -> None: ...

    def retry_scheduled(self, exchange: str) -> None: ...

    def retest_published(self, exchange: str) -> None: ...

    def retest_deferred(self, exchange: str, count: int) -> None: ...

    def superseded(self, exchange: str) -> None: ...
