"""Hand-written fakes of the tester's ports, and builders for requests and replies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bf_shared.messages import (
    ConnectionVerdict,
    KeyFacts,
    Market,
    Message,
    Permissions,
    ProbeError,
    ProbeName,
    ProbeOutcome,
    ProbeReply,
    ProbeRequest,
    TestReason,
    TestRequested,
)

from bf_tester.domain.model import CurrentTest, Lease, PendingRetry, RunOutcome
from bf_tester.domain.schedule import RetestEntry
from bf_tester.ports import (
    Clock,
    RetestIndex,
    ProbePort,
    ProbeUnavailable,
    PublishPort,
    RetryScheduler,
    SchedulerLease,
    RunLedger,
    TesterMetrics,
    VerdictStore,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


# ----------------------------------------------------------------------------- builders


def request(
    *,
    connection_id: str = "conn1",
    exchange: str = "mexc",
    markets: tuple[Market, ...] = ("spot",),
    reason: TestReason = TestReason.MANUAL,
    attempt: int = 1,
    attested: bool = False,
    key_reused: str = "none",
    test_id: str | None = None,
) -> TestRequested:
    extra = {"test_id": test_id} if test_id else {}
    return TestRequested(
        connection_id=connection_id,
        user_id="user1",
        exchange=exchange,
        markets=markets,
        reason=reason,
        attempt=attempt,
        withdraw_attested=attested,
        key_reused=key_reused,  # type: ignore[arg-type]
        **extra,
    )


def ok(name: ProbeName) -> ProbeOutcome:
    return ProbeOutcome(name=name, ok=True)


def fail(name: ProbeName, code: str, **kw: object) -> ProbeOutcome:
    return ProbeOutcome(name=name, ok=False, error=ProbeError(code=code, **kw))  # type: ignore[arg-type]


def reply(
    cmd: TestRequested,
    *outcomes: ProbeOutcome,
    read: bool | None = True,
    trade: bool | None = True,
    withdraw: bool | None = False,
    futures: bool | None = None,
    ip_restricted: bool | None = True,
    expires_in_days: int | None = None,
    source: str = "introspection",
    error: ProbeError | None = None,
) -> ProbeReply:
    """A reply; without outcomes, every probe the markets call for succeeded."""
    if not outcomes and error is None:
        names = [ProbeName.EXCHANGE_STATUS, ProbeName.CREDENTIALS, ProbeName.READ_BALANCE, ProbeName.PERMISSIONS]
        if "spot" in cmd.markets:
            names.append(ProbeName.TRADE)
        if "futures" in cmd.markets:
            names.append(ProbeName.FUTURES_BALANCE)
        outcomes = tuple(ok(n) for n in names)
    return ProbeReply(
        test_id=cmd.test_id,
        connection_id=cmd.connection_id,
        exchange=cmd.exchange,
        outcomes=outcomes,
        key=KeyFacts(
            permissions=Permissions(read=read, trade=trade, withdraw=withdraw, futures=futures),
            ip_restricted=ip_restricted,
            expires_in_days=expires_in_days,
            source=source,  # type: ignore[arg-type]
        ),
        error=error,
    )


def good_reply(cmd: TestRequested) -> ProbeReply:
    """Everything a connection needs for its markets, IP-restricted."""
    return reply(cmd, futures=True if "futures" in cmd.markets else None)


def down_reply(cmd: TestRequested) -> ProbeReply:
    return reply(
        cmd,
        fail(ProbeName.EXCHANGE_STATUS, "exchange_unavailable", http_status=503),
        read=None,
        trade=None,
        withdraw=None,
        ip_restricted=None,
        source="none",
    )


# ----------------------------------------------------------------------------- fakes


class FakeClock(Clock):
    def __init__(self, start: datetime = T0) -> None:
        self.t = start
        self.mono = 1000.0

    def now(self) -> datetime:
        return self.t

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)
        self.mono += seconds


class FakeProbe(ProbePort):
    """Answers with ``answer(request)``; raises ProbeUnavailable when it returns None."""

    def __init__(self, answer: Callable[[TestRequested | ProbeRequest], ProbeReply | None]) -> None:
        self.answer = answer
        self.requests: list[ProbeRequest] = []
        self.timeouts: list[float] = []

    async def probe(self, request: ProbeRequest, timeout_s: float) -> ProbeReply:
        self.requests.append(request)
        self.timeouts.append(timeout_s)
        result = self.answer(request)
        if result is None:
            raise ProbeUnavailable("timeout")
        return result


class FakePublisher(PublishPort):
    def __init__(self) -> None:
        self.sent: list[tuple[str, Message]] = []
        self.fail_next = 0

    async def publish(self, subject: str, message: Message) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("bus down")
        self.sent.append((subject, message))

    def of(self, subject: str) -> list[Message]:
        return [m for s, m in self.sent if s == subject]

    def subjects(self) -> list[str]:
        return [s for s, _ in self.sent]


class FakeRetryScheduler(RetryScheduler):
    def __init__(self) -> None:
        self.retries: dict[str, PendingRetry] = {}

    async def pending(self, connection_id: str) -> PendingRetry | None:
        return self.retries.get(connection_id)

    async def schedule(self, retry: PendingRetry, *, replacing: str | None = None) -> bool:
        current = self.retries.get(retry.connection_id)
        if replacing is not None and (current is None or current.run_id != replacing):
            return False
        self.retries[retry.connection_id] = retry
        return True

    async def cancel(self, connection_id: str, *, only: str | None = None) -> None:
        current = self.retries.get(connection_id)
        if current is not None and (only is None or current.run_id == only):
            del self.retries[connection_id]

    async def due(self, now: datetime, republish_after_s: float) -> list[PendingRetry]:
        return sorted((r for r in self.retries.values() if r.is_due(now, republish_after_s)), key=lambda r: r.due_at)

    async def mark_published(self, retry: PendingRetry, at: datetime) -> None:
        current = self.retries.get(retry.connection_id)
        if current is not None and current.run_id == retry.run_id:
            self.retries[retry.connection_id] = current.model_copy(update={"published_at": at})


class FakeLedger(RunLedger):
    def __init__(self) -> None:
        self.done: set[str] = set()
        self.deleted: set[str] = set()
        self.currents: dict[str, CurrentTest] = {}
        self.outcomes: dict[str, RunOutcome] = {}

    async def is_done(self, run_id: str) -> bool:
        return run_id in self.done

    async def mark_done(self, run_id: str) -> None:
        self.done.add(run_id)

    async def outcome(self, run_id: str) -> RunOutcome | None:
        return self.outcomes.get(run_id)

    async def save_outcome(self, run_id: str, outcome: RunOutcome) -> None:
        self.outcomes.setdefault(run_id, outcome)

    async def is_deleted(self, connection_id: str) -> bool:
        return connection_id in self.deleted

    async def mark_deleted(self, connection_id: str) -> None:
        self.deleted.add(connection_id)

    async def current(self, connection_id: str) -> CurrentTest | None:
        return self.currents.get(connection_id)

    async def claim(self, current: CurrentTest) -> bool:
        held = self.currents.get(current.command.connection_id)
        if held is not None and held.run_id != current.run_id and held.is_newer_than_me(current.sequence):
            return False
        self.currents[current.command.connection_id] = current
        return True

    async def forget(self, connection_id: str) -> None:
        self.currents.pop(connection_id, None)


class FakeIndex(RetestIndex):
    def __init__(self) -> None:
        self.entries: dict[str, RetestEntry] = {}
        self.reads = 0

    async def get(self, connection_id: str) -> RetestEntry | None:
        return self.entries.get(connection_id)

    async def put(self, entry: RetestEntry) -> None:
        self.entries[entry.connection_id] = entry

    async def remove(self, connection_id: str) -> None:
        self.entries.pop(connection_id, None)

    async def all(self) -> list[RetestEntry]:
        self.reads += 1
        return list(self.entries.values())


class FakeLease(SchedulerLease):
    """A lease on a shared dict, with the same rules as the KV lease."""

    def __init__(self, store: dict[str, Lease], holder: str, clock: FakeClock, ttl_s: float = 15.0) -> None:
        self.store = store
        self.holder = holder
        self.clock = clock
        self.ttl = timedelta(seconds=ttl_s)
        self.released = False

    async def acquire(self) -> bool:
        now = self.clock.now()
        held = self.store.get("lease")
        if held is not None and held.held_by_other(self.holder, now):
            return False
        self.store["lease"] = Lease(holder=self.holder, expires_at=now + self.ttl)
        return True

    async def release(self) -> None:
        self.released = True
        held = self.store.get("lease")
        if held is not None and held.holder == self.holder:
            del self.store["lease"]


class FakeMetrics(TesterMetrics):
    def __init__(self) -> None:
        self.finished: list[tuple[str, str, str, float]] = []
        self.retries: list[str] = []
        self.retests: list[str] = []
        self.deferred: list[tuple[str, int]] = []
        self.superseded_count = 0

    def test_finished(self, exchange: str, result: str, code: str, duration_s: float) -> None:
        self.finished.append((exchange, result, code, duration_s))

    def retry_scheduled(self, exchange: str) -> None:
        self.retries.append(exchange)

    def retest_published(self, exchange: str) -> None:
        self.retests.append(exchange)

    def retest_deferred(self, exchange: str, count: int) -> None:
        self.deferred.append((exchange, count))

    def superseded(self, exchange: str) -> None:
        self.superseded_count += 1


class FakeVerdicts(VerdictStore):
    """Verdicts with KV semantics: a revision per write, tombstones on delete, compare-and-set.

    ``before_write`` runs once, just before the next write lands (to stage a race).
    """

    def __init__(self) -> None:
        self.stored: dict[str, tuple[ConnectionVerdict | None, int]] = {}
        self.revision = 0
        self.writes = 0
        self.before_write: Callable[[], None] | None = None

    async def read(self, connection_id: str) -> tuple[ConnectionVerdict | None, int]:
        return self.stored.get(connection_id, (None, 0))

    async def write(self, verdict: ConnectionVerdict, revision: int) -> bool:
        if self.before_write is not None:
            hook, self.before_write = self.before_write, None
            hook()
        if self.stored.get(verdict.connection_id, (None, 0))[1] != revision:
            return False
        self.force(verdict)
        self.writes += 1
        return True

    def force(self, verdict: ConnectionVerdict) -> None:
        """Another writer's verdict lands."""
        self.revision += 1
        self.stored[verdict.connection_id] = (verdict, self.revision)

    async def delete(self, connection_id: str) -> None:
        self.revision += 1
        self.stored[connection_id] = (None, self.revision)

    def of(self, connection_id: str) -> ConnectionVerdict | None:
        return self.stored.get(connection_id, (None, 0))[0]
