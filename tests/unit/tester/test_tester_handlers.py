"""The test handler end to end with fakes: events, retries, idempotency, supersession."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bf_shared import subjects
from bf_shared.messages import (
    ConnectionDeleted,
    ProbeName,
    ProbeReply,
    ProbeRequest,
    TestFailed,
    TestPassed,
    TestReason,
    TestRequested,
    TestStarted,
)

from bf_tester.domain.model import run_id
from bf_tester.handlers import handle_connection_deleted, handle_test_requested
from bf_tester.scheduler import publish_due_retries
from bf_tester.settings import TesterSettings

from .fakes import (
    FakeClock,
    FakeIndex,
    FakeLedger,
    FakeMetrics,
    FakeProbe,
    FakePublisher,
    FakeRetryScheduler,
    FakeVerdicts,
    T0,
    down_reply,
    fail,
    good_reply,
    ok,
    reply,
    request,
)

SETTINGS = TesterSettings(
    probe_timeout_s=7.0,
    retry_max_attempts=4,
    retry_base_s=10.0,
    retry_cap_s=60.0,
    retry_min_s=1.0,
    egress_ips=("203.0.113.7",),
)


class World:
    """The handler's dependencies, all fakes, and helpers to drive them."""

    def __init__(self, answer: Callable[[ProbeRequest], ProbeReply | None]) -> None:
        self.probe = FakeProbe(answer)
        self.publish = FakePublisher()
        self.scheduler = FakeRetryScheduler()
        self.ledger = FakeLedger()
        self.index = FakeIndex()
        self.clock = FakeClock()
        self.metrics = FakeMetrics()
        self.verdict_store = FakeVerdicts()
        self.rand_value = 0.5

    def kwargs(self) -> dict[str, Any]:
        return {
            "probe": self.probe,
            "publish": self.publish,
            "scheduler": self.scheduler,
            "ledger": self.ledger,
            "clock": self.clock,
            "settings": SETTINGS,
            "rand": lambda: self.rand_value,
            "metrics": self.metrics,
            "verdicts": self.verdict_store,
        }

    async def handle(self, cmd: TestRequested, sequence: int | None = None) -> None:
        await handle_test_requested(cmd, sequence=sequence, **self.kwargs())

    def verdicts(self) -> list[TestPassed | TestFailed]:
        return [m for s, m in self.publish.sent if s in (subjects.TEST_PASSED, subjects.TEST_FAILED)]  # type: ignore[misc]

    async def run_due_retries(self) -> list[TestRequested]:
        before = len(self.publish.of(subjects.TEST_REQUESTED))
        await publish_due_retries(scheduler=self.scheduler, publish=self.publish, clock=self.clock, settings=SETTINGS)
        return self.publish.of(subjects.TEST_REQUESTED)[before:]  # type: ignore[return-value]


def as_reply(build: Callable[[TestRequested], ProbeReply]) -> Callable[[ProbeRequest], ProbeReply]:
    """Adapt a reply builder (written against commands) to the probe request it answers."""

    def answer(req: ProbeRequest) -> ProbeReply:
        cmd = request(connection_id=req.connection_id, exchange=req.exchange, markets=req.markets, test_id=req.test_id)
        return build(cmd)

    return answer


async def test_started_then_passed() -> None:
    world = World(as_reply(good_reply))
    cmd = request(markets=("spot", "futures"), reason=TestReason.ADDED)
    await world.handle(cmd)

    assert world.publish.subjects() == [subjects.TEST_STARTED, subjects.TEST_PASSED]
    started, passed = (m for _, m in world.publish.sent)
    assert isinstance(started, TestStarted) and started.test_id == cmd.test_id and started.started_at == T0
    assert isinstance(passed, TestPassed)
    assert passed.result.status == "passed" and passed.result.test_id == cmd.test_id
    assert (passed.connection_id, passed.user_id, passed.exchange) == (cmd.connection_id, cmd.user_id, cmd.exchange)
    # Derived message ids: a redelivered handling republishes the same ids (JetStream de-duplicates).
    assert started.message_id == f"{cmd.test_id}.1.started" and passed.message_id == f"{cmd.test_id}.1.verdict"
    (probe_req,) = world.probe.requests
    assert (probe_req.test_id, probe_req.connection_id, probe_req.markets) == (cmd.test_id, cmd.connection_id, cmd.markets)
    assert world.probe.timeouts == [7.0]
    assert await world.ledger.is_done(run_id(cmd))
    assert world.scheduler.retries == {}
    assert world.metrics.finished == [("mexc", "passed", "none", 0.0)]


def start_reasons(world: World) -> list[object]:
    """The reason of each published ``TestStarted`` (anything else published there shows as itself)."""
    return [m.reason if isinstance(m, TestStarted) else m for m in world.publish.of(subjects.TEST_STARTED)]


@pytest.mark.parametrize("reason", [TestReason.PERIODIC, TestReason.MANUAL, TestReason.ADDED])
async def test_test_started_says_why_the_test_runs(reason: TestReason) -> None:
    # The read model keeps an Online connection online during a periodic re-check: it needs the reason.
    world = World(as_reply(good_reply))
    await world.handle(request(reason=reason))

    assert start_reasons(world) == [reason]


async def test_a_retry_attempt_starts_with_reason_retry() -> None:
    world = World(as_reply(down_reply))
    await world.handle(request(reason=TestReason.PERIODIC))
    world.clock.advance(6)
    (retry,) = await world.run_due_retries()
    await world.handle(retry)

    assert start_reasons(world) == [TestReason.PERIODIC, TestReason.RETRY]


async def test_exchange_down_fails_and_schedules_a_retry() -> None:
    world = World(as_reply(down_reply))
    cmd = request(markets=("spot",), attested=True, key_reused="same_user")
    await world.handle(cmd)

    (failed,) = world.verdicts()
    assert isinstance(failed, TestFailed)
    assert failed.result.error is not None and failed.result.error.code == "exchange_unavailable"
    pending = world.scheduler.retries[cmd.connection_id]
    assert failed.result.next_retry_at == pending.due_at == T0 + timedelta(seconds=0.5 * 10.0)
    retry = pending.command
    # The retry is the next attempt of the same test: the user follows one test id.
    assert retry.reason == TestReason.RETRY and retry.attempt == 2 and retry.test_id == cmd.test_id
    assert retry.message_id == f"{cmd.test_id}.2.requested"
    assert (retry.connection_id, retry.markets, retry.withdraw_attested, retry.key_reused) == (
        cmd.connection_id, cmd.markets, True, "same_user",
    )
    assert world.metrics.retries == ["mexc"]


async def test_retry_after_down_then_up_passes_without_user_action() -> None:
    state = {"up": False}
    world = World(as_reply(lambda c: good_reply(c) if state["up"] else down_reply(c)))
    await world.handle(request())
    assert await world.run_due_retries() == []  # not due yet

    state["up"] = True
    world.clock.advance(6)
    (retry,) = await world.run_due_retries()
    await world.handle(retry)

    first, second = world.verdicts()
    assert first.result.status == "failed" and second.result.status == "passed"
    assert second.result.attempt == 2 and second.result.test_id == first.result.test_id
    assert second.message_id == f"{first.result.test_id}.2.verdict" != first.message_id
    assert world.scheduler.retries == {}  # nothing left pending


async def test_attempts_are_bounded() -> None:
    world = World(as_reply(down_reply))
    await world.handle(request())
    for _ in range(10):
        world.clock.advance(3600)
        for retry in await world.run_due_retries():
            await world.handle(retry)

    verdicts = world.verdicts()
    assert [v.result.attempt for v in verdicts] == [1, 2, 3, 4]  # retry_max_attempts = 4
    assert all(v.result.next_retry_at is not None for v in verdicts[:-1])
    assert verdicts[-1].result.next_retry_at is None
    assert world.scheduler.retries == {}


async def test_redelivered_command_is_not_run_twice() -> None:
    world = World(as_reply(good_reply))
    cmd = request()
    await world.handle(cmd, sequence=5)
    await world.handle(cmd, sequence=5)
    assert len(world.probe.requests) == 1
    assert world.publish.subjects() == [subjects.TEST_STARTED, subjects.TEST_PASSED]


def failing_publish(world: World, fail_on: int) -> None:
    """Make the ``fail_on``-th publish raise, as if the bus went away mid-handling."""
    original = world.publish.publish
    calls = {"n": 0}

    async def flaky(subject: str, message: Any) -> None:
        calls["n"] += 1
        if calls["n"] == fail_on:
            raise ConnectionError("bus down")
        await original(subject, message)

    world.publish.publish = flaky  # type: ignore[method-assign]


async def test_crash_before_the_verdict_finishes_the_saved_outcome_on_redelivery() -> None:
    state = {"up": False}
    world = World(as_reply(lambda c: good_reply(c) if state["up"] else down_reply(c)))
    cmd = request()
    failing_publish(world, fail_on=2)  # the verdict
    with pytest.raises(ConnectionError):
        await world.handle(cmd, sequence=3)
    assert not await world.ledger.is_done(run_id(cmd))

    state["up"] = True  # the exchange came back meanwhile: irrelevant, the verdict was decided
    await world.handle(cmd, sequence=3)  # the redelivery
    assert len(world.probe.requests) == 1
    ids = [m.message_id for _, m in world.publish.sent]
    assert ids == [f"{cmd.test_id}.1.started", f"{cmd.test_id}.1.verdict"]
    (failed,) = world.verdicts()
    pending = world.scheduler.retries[cmd.connection_id]
    assert failed.result.next_retry_at == pending.due_at  # verdict and bookkeeping agree
    assert await world.ledger.is_done(run_id(cmd))


async def test_crash_before_deciding_reruns_the_test() -> None:
    world = World(as_reply(good_reply))
    cmd = request()
    failing_publish(world, fail_on=1)  # TestStarted cannot be published
    with pytest.raises(ConnectionError):
        await world.handle(cmd, sequence=3)
    await world.handle(cmd, sequence=3)
    assert world.publish.subjects() == [subjects.TEST_STARTED, subjects.TEST_PASSED]
    assert len(world.probe.requests) == 1  # the first run never got to probe


async def test_a_late_redelivery_does_not_resurrect_a_finished_retry() -> None:
    state = {"up": False}
    world = World(as_reply(lambda c: good_reply(c) if state["up"] else down_reply(c)))
    cmd = request()
    failing_publish(world, fail_on=2)
    with pytest.raises(ConnectionError):
        await world.handle(cmd, sequence=1)  # outcome saved, retry scheduled, verdict lost
    state["up"] = True
    world.clock.advance(60)
    (retry,) = await world.run_due_retries()
    await world.handle(retry, sequence=2)  # the retry passes and is done
    assert world.scheduler.retries == {}

    verdicts_before = len(world.verdicts())
    await world.handle(cmd, sequence=1)  # the first command finally redelivered
    assert world.scheduler.retries == {}  # no zombie retry
    assert len(world.verdicts()) == verdicts_before  # and no stale verdict after the pass
    assert world.metrics.retries == ["mexc"]


async def test_connector_not_answering_is_retryable_platform_trouble() -> None:
    world = World(lambda req: None)
    await world.handle(request())
    (failed,) = world.verdicts()
    assert failed.result.error is not None and failed.result.error.code == "exchange_unavailable"
    status = {c.name: c for c in failed.result.checks}["exchange_status"]
    assert "connector did not answer" in status.detail
    assert failed.result.next_retry_at is not None


async def test_a_reply_for_another_test_is_not_trusted() -> None:
    world = World(lambda req: good_reply(request(test_id="someone-else", connection_id=req.connection_id)))
    await world.handle(request())
    (failed,) = world.verdicts()
    assert failed.result.status == "failed" and failed.result.next_retry_at is not None


async def test_rate_limit_retry_waits_at_least_retry_after() -> None:
    world = World(as_reply(lambda c: reply(c, ok(ProbeName.CREDENTIALS), fail(ProbeName.READ_BALANCE, "rate_limited", retry_after_s=45))))
    world.rand_value = 0.0
    await world.handle(request())
    (failed,) = world.verdicts()
    assert failed.result.next_retry_at == T0 + timedelta(seconds=45)


async def test_withdraw_enabled_fails_at_once_and_is_never_retried() -> None:
    world = World(as_reply(lambda c: reply(c, withdraw=True)))
    await world.handle(request())
    (failed,) = world.verdicts()
    assert failed.result.error is not None and failed.result.error.code == "withdraw_enabled"
    assert failed.result.next_retry_at is None and world.scheduler.retries == {}
    assert world.metrics.finished[0][1:3] == ("failed", "withdraw_enabled")


async def test_key_revoked_on_the_exchange_turns_a_periodic_test_failed() -> None:
    world = World(as_reply(lambda c: reply(c, ok(ProbeName.EXCHANGE_STATUS), fail(ProbeName.CREDENTIALS, "invalid_key", exchange_code="10072"), read=None, trade=None, withdraw=None, source="none")))
    await world.handle(request(reason=TestReason.PERIODIC))
    (failed,) = world.verdicts()
    assert isinstance(failed, TestFailed)
    assert failed.result.error is not None and failed.result.error.code == "invalid_key"
    assert world.scheduler.retries == {}


async def test_a_manual_test_supersedes_a_pending_retry() -> None:
    state = {"up": False}
    world = World(as_reply(lambda c: good_reply(c) if state["up"] else down_reply(c)))
    await world.handle(request(), sequence=1)
    world.clock.advance(6)
    (stale_retry,) = await world.run_due_retries()  # published, not yet handled

    state["up"] = True
    manual = request(reason=TestReason.MANUAL)
    await world.handle(manual, sequence=3)
    assert world.scheduler.retries == {}
    await world.handle(stale_retry, sequence=2)  # arrives late: dropped, no events

    assert [v.result.test_id for v in world.verdicts()][-1] == manual.test_id
    assert len(world.verdicts()) == 2
    assert len(world.probe.requests) == 2  # the stale retry never probed
    assert await world.ledger.is_done(run_id(stale_retry))
    assert world.metrics.superseded_count == 1


async def test_a_new_failure_replaces_the_pending_retry_with_its_own() -> None:
    world = World(as_reply(down_reply))
    await world.handle(request(), sequence=1)
    manual = request(reason=TestReason.MANUAL)
    await world.handle(manual, sequence=2)
    pending = world.scheduler.retries["conn1"]
    assert pending.command.attempt == 2
    assert (await world.ledger.current("conn1")).command.test_id == manual.test_id  # type: ignore[union-attr]


async def test_an_older_command_arriving_after_a_newer_one_is_skipped() -> None:
    world = World(as_reply(good_reply))
    newer, older = request(), request()
    await world.handle(newer, sequence=10)
    await world.handle(older, sequence=9)
    assert [r.test_id for r in world.probe.requests] == [newer.test_id]
    assert await world.ledger.is_done(run_id(older))


async def test_a_test_overtaken_while_running_drops_its_verdict() -> None:
    newer = request(reason=TestReason.MANUAL)
    world: World

    def answer(req: ProbeRequest) -> ProbeReply:
        return good_reply(request(connection_id=req.connection_id, test_id=req.test_id))

    async def overtaking_probe(req: ProbeRequest, timeout_s: float) -> ProbeReply:
        if req.test_id != newer.test_id:
            await world.handle(newer, sequence=2)  # the user pressed "Test" again meanwhile
        return answer(req)

    world = World(answer)
    world.probe.probe = overtaking_probe  # type: ignore[method-assign]
    older = request(reason=TestReason.ROTATED)
    await world.handle(older, sequence=1)

    assert [v.result.test_id for v in world.verdicts()] == [newer.test_id]
    assert await world.ledger.is_done(run_id(older))


async def test_deleted_connection_cancels_retries_and_drops_later_tests() -> None:
    world = World(as_reply(down_reply))
    await world.handle(request(), sequence=1)
    assert "conn1" in world.scheduler.retries
    await handle_connection_deleted(
        ConnectionDeleted(connection_id="conn1", user_id="user1", exchange="mexc"),
        index=world.index, scheduler=world.scheduler, ledger=world.ledger, verdicts=world.verdict_store,
    )
    assert world.scheduler.retries == {}
    world.clock.advance(3600)
    assert await world.run_due_retries() == []

    sent_before = len(world.publish.sent)
    await world.handle(request(reason=TestReason.MANUAL), sequence=2)
    assert len(world.publish.sent) == sent_before


async def test_deletion_while_a_test_runs_drops_its_verdict_and_retry() -> None:
    world: World

    async def deleting_probe(req: ProbeRequest, timeout_s: float) -> ProbeReply:
        await handle_connection_deleted(
            ConnectionDeleted(connection_id=req.connection_id, user_id="user1", exchange="mexc"),
            index=world.index, scheduler=world.scheduler, ledger=world.ledger, verdicts=world.verdict_store,
        )
        return down_reply(request(connection_id=req.connection_id, test_id=req.test_id))

    world = World(as_reply(down_reply))
    world.probe.probe = deleting_probe  # type: ignore[method-assign]
    await world.handle(request())
    assert world.verdicts() == [] and world.scheduler.retries == {}
