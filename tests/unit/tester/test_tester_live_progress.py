"""Live progress through the test handler, with fakes: provisional checks as the connector's
outcomes arrive, then the verdict's checks, then the verdict event; never at the test's cost."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bf_shared import subjects
from bf_shared.messages import (
    CheckProgress,
    ChecksProgress,
    CheckStatus,
    Message,
    ProbeName,
    ProbeOutcome,
    ProbeProgress,
    ProbeReply,
    ProbeRequest,
    TestFailed,
    TestPassed,
    TestReason,
    TestRequested,
)

from bf_tester.domain.model import CurrentTest, run_id
from bf_tester.handlers import handle_test_requested
from bf_tester.ports import ProbePort, ProgressPort, PublishPort
from bf_tester.settings import TesterSettings

from .fakes import (
    FakeClock,
    FakeLedger,
    FakeMetrics,
    FakeRetryScheduler,
    FakeVerdicts,
    down_reply,
    fail,
    good_reply,
    ok,
    request,
)

SETTINGS = TesterSettings(probe_timeout_s=7.0, egress_ips=("203.0.113.7",))
Deliver = Callable[[ProbeProgress], Awaitable[None]]


class Timeline:
    """Everything published, core and durable, in one order."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Any]] = []

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.items]

    def checks(self) -> list[tuple[str, CheckStatus]]:
        return [(p.check.name, p.check.status) for kind, p in self.items if kind == "check"]


class FakeProgress(ProgressPort):
    """Core NATS in memory: outcomes reach a listener only while it listens."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.listeners: dict[str, Deliver] = {}
        self.fail_publish = False
        self.fail_listen = False
        self.closed: list[str] = []

    @contextlib.asynccontextmanager
    async def outcomes(self, test_id: str, deliver: Deliver) -> AsyncIterator[None]:
        if self.fail_listen:
            raise ConnectionError("bus down")
        self.listeners[test_id] = deliver
        try:
            yield
        finally:
            del self.listeners[test_id]
            self.closed.append(test_id)

    async def emit(self, test_id: str, progress: ProbeProgress) -> None:
        if test_id in self.listeners:
            await self.listeners[test_id](progress)

    async def publish(self, connection_id: str, payload: CheckProgress | ChecksProgress) -> None:
        if self.fail_publish:
            raise ConnectionError("bus down")
        self.timeline.items.append(("check" if isinstance(payload, CheckProgress) else "checks", payload))
        self.timeline.items.append(("to", connection_id))


class TimelinePublisher(PublishPort):
    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline

    async def publish(self, subject: str, message: Message) -> None:
        self.timeline.items.append((subject, message))


class ReportingConnector(ProbePort):
    """Reports ``outcomes`` one by one on the progress port, then replies with ``answer``."""

    def __init__(
        self,
        progress: FakeProgress,
        outcomes: list[ProbeOutcome],
        answer: Callable[[TestRequested], ProbeReply],
        *,
        stray: list[ProbeProgress] | None = None,
    ) -> None:
        self.progress = progress
        self.outcomes = outcomes
        self.answer = answer
        self.stray = stray or []
        self.requests: list[ProbeRequest] = []

    async def probe(self, req: ProbeRequest, timeout_s: float) -> ProbeReply:
        self.requests.append(req)
        for progress in self.stray:
            await self.progress.emit(req.test_id, progress)
        for outcome in self.outcomes:
            await self.progress.emit(
                req.test_id, ProbeProgress(test_id=req.test_id, connection_id=req.connection_id, outcome=outcome)
            )
        cmd = request(connection_id=req.connection_id, exchange=req.exchange, markets=req.markets, test_id=req.test_id)
        return self.answer(cmd)


class World:
    def __init__(
        self, outcomes: list[ProbeOutcome], answer: Callable[[TestRequested], ProbeReply], **kw: Any
    ) -> None:
        self.timeline = Timeline()
        self.progress = FakeProgress(self.timeline)
        self.connector = ReportingConnector(self.progress, outcomes, answer, **kw)
        self.ledger = FakeLedger()

    async def handle(self, cmd: TestRequested, *, with_progress: bool = True) -> None:
        await handle_test_requested(
            cmd,
            probe=self.connector,
            publish=TimelinePublisher(self.timeline),
            scheduler=FakeRetryScheduler(),
            ledger=self.ledger,
            clock=FakeClock(),
            settings=SETTINGS,
            rand=lambda: 0.5,
            metrics=FakeMetrics(),
            verdicts=FakeVerdicts(),
            progress=self.progress if with_progress else None,
        )

    def verdict(self) -> TestPassed | TestFailed:
        (verdict,) = [m for s, m in self.timeline.items if s in (subjects.TEST_PASSED, subjects.TEST_FAILED)]
        return verdict  # type: ignore[no-any-return]


HEALTHY = [ok(n) for n in (ProbeName.EXCHANGE_STATUS, ProbeName.PERMISSIONS, ProbeName.CREDENTIALS,
                           ProbeName.READ_BALANCE, ProbeName.TRADE)]


async def test_checks_go_out_as_outcomes_arrive_then_the_final_checks_then_the_verdict() -> None:
    world = World(HEALTHY, good_reply)
    cmd = request(markets=("spot",))
    await world.handle(cmd)

    kinds = [k for k in world.timeline.kinds() if k != "to"]
    assert kinds == [subjects.TEST_STARTED, "check", "check", "check", "check", "checks", subjects.TEST_PASSED]
    # Arrival order; introspection alone shows nothing (withdrawal and whitelist need the verdict).
    assert world.timeline.checks() == [
        ("exchange_status", CheckStatus.OK), ("api_key", CheckStatus.OK), ("read", CheckStatus.OK), ("trade", CheckStatus.OK),
    ]
    payloads = [p for k, p in world.timeline.items if k in ("check", "checks")]
    assert {(p.test_id, p.attempt) for p in payloads} == {(cmd.test_id, 1)}
    assert {v for k, v in world.timeline.items if k == "to"} == {cmd.connection_id}
    final = payloads[-1]
    assert isinstance(final, ChecksProgress) and final.checks == world.verdict().result.checks
    assert world.progress.listeners == {} and world.progress.closed == [cmd.test_id]


async def test_every_payload_carries_the_runs_attempt() -> None:
    world = World([ok(ProbeName.EXCHANGE_STATUS)], good_reply)
    cmd = request(attempt=3, reason=TestReason.MANUAL)
    await world.handle(cmd)
    assert {p.attempt for k, p in world.timeline.items if k in ("check", "checks")} == {3}


async def test_worse_news_sticks_and_repeats_are_not_published() -> None:
    timeout = fail(ProbeName.READ_BALANCE, "exchange_unavailable", detail="no answer within 10 s")
    outcomes = [
        timeout,
        ok(ProbeName.EXCHANGE_STATUS),  # would flip exchange_status back to ok: the verdict will not
        timeout.model_copy(update={"name": ProbeName.TRADE}),  # the same failed row again
        ok(ProbeName.CREDENTIALS),
    ]
    world = World(outcomes, down_reply)
    await world.handle(request(markets=("spot",)))

    assert world.timeline.checks() == [("exchange_status", CheckStatus.FAILED), ("api_key", CheckStatus.OK)]
    assert world.verdict().result.checks[0].status == CheckStatus.FAILED


async def test_a_failed_check_may_still_change_its_reason() -> None:
    world = World(
        [fail(ProbeName.READ_BALANCE, "exchange_unavailable"), fail(ProbeName.TRADE, "rate_limited", retry_after_s=3)],
        down_reply,
    )
    await world.handle(request(markets=("spot",)))
    details = [p.check.detail for k, p in world.timeline.items if k == "check"]
    assert details == [
        "The exchange is down, in maintenance or not answering.",
        "The exchange is throttling requests. (retry after 3 s)",
    ]


async def test_outcomes_of_another_test_or_connection_are_ignored() -> None:
    cmd = request(markets=("spot",))
    stray = [
        ProbeProgress(test_id="other", connection_id=cmd.connection_id, outcome=fail(ProbeName.CREDENTIALS, "invalid_key")),
        ProbeProgress(test_id=cmd.test_id, connection_id="other", outcome=fail(ProbeName.CREDENTIALS, "invalid_key")),
    ]
    world = World([ok(ProbeName.CREDENTIALS)], good_reply, stray=stray)
    await world.handle(cmd)
    assert world.timeline.checks() == [("api_key", CheckStatus.OK)]


async def test_an_outcome_after_the_reply_is_not_shown() -> None:
    world = World([], good_reply)
    cmd = request(markets=("spot",))
    late: list[Callable[[ProbeProgress], Awaitable[None]]] = []

    original = world.progress.outcomes

    @contextlib.asynccontextmanager
    async def keep(test_id: str, deliver: Deliver) -> AsyncIterator[None]:
        late.append(deliver)  # a message racing the unsubscription
        async with original(test_id, deliver):
            yield

    world.progress.outcomes = keep  # type: ignore[method-assign]
    await world.handle(cmd)
    await late[0](ProbeProgress(test_id=cmd.test_id, connection_id=cmd.connection_id, outcome=fail(ProbeName.CREDENTIALS, "invalid_key")))
    assert world.timeline.checks() == []
    assert world.timeline.kinds()[-3:] == ["checks", "to", subjects.TEST_PASSED]


async def test_a_broken_live_feed_never_costs_the_test_its_verdict() -> None:
    for broken in ("fail_publish", "fail_listen"):
        world = World(HEALTHY, good_reply)
        setattr(world.progress, broken, True)
        cmd = request(markets=("spot",))
        await world.handle(cmd)
        assert world.verdict().result.status == "passed"
        assert world.timeline.checks() == []
        assert await world.ledger.is_done(run_id(cmd))


async def test_without_a_live_feed_the_test_runs_as_before() -> None:
    world = World(HEALTHY, good_reply)
    await world.handle(request(markets=("spot",)), with_progress=False)
    assert world.timeline.kinds() == [subjects.TEST_STARTED, subjects.TEST_PASSED]
    assert world.progress.closed == []


async def test_ids_that_are_not_subject_tokens_get_no_live_progress() -> None:
    world = World(HEALTHY, good_reply)
    cmd = request(markets=("spot",), test_id="a.b")
    await world.handle(cmd)
    assert world.progress.closed == [] and world.timeline.checks() == []
    assert world.verdict().result.status == "passed"


async def test_a_run_superseded_while_probing_publishes_no_final_checks() -> None:
    world = World([ok(ProbeName.CREDENTIALS)], good_reply)
    cmd = request(markets=("spot",))
    newer = request(markets=("spot",), connection_id=cmd.connection_id)
    original = world.connector.probe

    async def probe_then_superseded(req: ProbeRequest, timeout_s: float) -> ProbeReply:
        answer = await original(req, timeout_s)
        await world.ledger.claim(CurrentTest(command=newer, sequence=None))
        return answer

    world.connector.probe = probe_then_superseded  # type: ignore[method-assign]
    await world.handle(cmd)
    kinds = [k for k in world.timeline.kinds() if k != "to"]
    assert kinds == [subjects.TEST_STARTED, "check"]
