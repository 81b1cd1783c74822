"""The tester records each connection's newest verdict (for the connector's order guard)."""

from __future__ import annotations

import pytest

from bf_shared import subjects
from bf_shared.codes import ErrorCode
from bf_shared.messages import (
    ConnectionDeleted,
    ConnectionVerdict,
    Message,
    ProbeReply,
    ProbeRequest,
    TestFailed,
    TestPassed,
    TestReason,
    TestRequested,
)

from bf_tester.domain.model import CurrentTest
from bf_tester.handlers import VerdictNotRecorded, handle_connection_deleted
from bf_tester.scheduler import Retester

from .fakes import (
    T0,
    FakeClock,
    FakeIndex,
    FakeLedger,
    FakeMetrics,
    FakePublisher,
    FakeVerdicts,
    down_reply,
    good_reply,
    reply,
    request,
)
from .test_tester_handlers import World, as_reply
from .test_tester_scheduler_loop import SETTINGS as SCHEDULER_SETTINGS
from .test_tester_scheduler_loop import online


def versioned(version: int | None = 3, **kw: object) -> TestRequested:
    return request(**kw).model_copy(update={"secret_version": version})  # type: ignore[arg-type]


class SnapshotPublisher(FakePublisher):
    """Remembers what the verdict store held when each verdict event was published."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.stored_at_publish: list[ConnectionVerdict | None] = []

    async def publish(self, subject: str, message: Message) -> None:
        if subject in (subjects.TEST_PASSED, subjects.TEST_FAILED):
            self.stored_at_publish.append(self.world.verdict_store.of(message.connection_id))  # type: ignore[attr-defined]
        await super().publish(subject, message)


async def test_a_passed_test_records_a_passed_verdict_before_announcing_it() -> None:
    world = World(as_reply(good_reply))
    world.publish = SnapshotPublisher(world)
    cmd = versioned(3, reason=TestReason.ROTATED)
    await world.handle(cmd)

    expected = ConnectionVerdict(connection_id="conn1", test_id=cmd.test_id, attempt=1, secret_version=3,
                                 status="passed", code=None, decided_at=T0)
    assert world.verdict_store.of("conn1") == expected
    assert world.publish.stored_at_publish == [expected]  # stored before TestPassed went out
    (passed,) = world.verdicts()
    assert isinstance(passed, TestPassed) and passed.secret_version == 3


async def test_a_withdraw_enabled_key_records_a_failed_verdict_with_its_code() -> None:
    world = World(as_reply(lambda c: reply(c, withdraw=True)))
    await world.handle(versioned(2))
    verdict = world.verdict_store.of("conn1")
    assert verdict is not None and (verdict.status, verdict.code, verdict.secret_version) == (
        "failed", ErrorCode.WITHDRAW_ENABLED, 2)
    (failed,) = world.verdicts()
    assert isinstance(failed, TestFailed) and failed.secret_version == 2


async def test_the_verdict_holds_no_secret_and_no_key() -> None:
    world = World(as_reply(good_reply))
    await world.handle(versioned(1))
    stored = world.verdict_store.of("conn1")
    assert stored is not None
    assert set(stored.model_dump()) == {"schema_version", "connection_id", "test_id", "attempt", "secret_version",
                                        "status", "code", "decided_at"}


async def test_a_retry_that_passes_replaces_the_failed_verdict_of_its_first_attempt() -> None:
    answers = iter([down_reply, good_reply])
    world = World(as_reply(lambda c: next(answers)(c)))
    cmd = versioned(1)
    await world.handle(cmd, sequence=1)
    first = world.verdict_store.of("conn1")
    assert first is not None and (first.status, first.code, first.attempt) == (
        "failed", ErrorCode.EXCHANGE_UNAVAILABLE, 1)
    world.clock.advance(3600)
    (retry,) = await world.run_due_retries()
    await world.handle(retry, sequence=2)
    second = world.verdict_store.of("conn1")
    assert second is not None and (second.status, second.attempt, second.test_id) == ("passed", 2, cmd.test_id)


async def test_a_test_superseded_while_running_records_nothing() -> None:
    world: World
    newer = versioned(2, reason=TestReason.ROTATED)

    async def newer_claims_meanwhile(req: ProbeRequest, timeout_s: float) -> ProbeReply:
        await world.ledger.claim(CurrentTest(command=newer, sequence=2))
        return good_reply(request(connection_id=req.connection_id, test_id=req.test_id))

    world = World(as_reply(good_reply))
    world.probe.probe = newer_claims_meanwhile  # type: ignore[method-assign,assignment]
    await world.handle(versioned(1), sequence=1)
    assert world.verdict_store.of("conn1") is None and world.verdict_store.writes == 0


async def test_a_newer_verdict_landing_during_the_write_is_never_overwritten() -> None:
    world = World(as_reply(good_reply))
    older = versioned(1)
    newer = versioned(2, reason=TestReason.ROTATED)
    newer_verdict = ConnectionVerdict(connection_id="conn1", test_id=newer.test_id, secret_version=2,
                                      status="failed", code=ErrorCode.WITHDRAW_ENABLED, decided_at=T0)

    def newer_run_finishes_first() -> None:
        # Between the older run's read and its write: the newer run claims and records its verdict.
        world.ledger.currents["conn1"] = CurrentTest(command=newer, sequence=2)
        world.verdict_store.force(newer_verdict)

    world.verdict_store.before_write = newer_run_finishes_first
    await world.handle(older, sequence=1)
    assert world.verdict_store.of("conn1") == newer_verdict


async def test_a_redelivery_after_the_decision_records_the_same_verdict_once() -> None:
    world = World(as_reply(good_reply))
    cmd = versioned(4)

    def lose_the_announcement(req: TestRequested | ProbeRequest) -> ProbeReply:
        world.publish.fail_next = 1  # the verdict event fails after the outcome was saved
        return good_reply(request(connection_id=req.connection_id, test_id=req.test_id))

    world.probe.answer = lose_the_announcement
    with pytest.raises(ConnectionError):
        await world.handle(cmd, sequence=1)
    assert world.verdicts() == [] and world.verdict_store.writes == 1
    await world.handle(cmd, sequence=1)  # redelivered: finishes the saved outcome
    assert len(world.verdicts()) == 1 and world.verdict_store.writes == 1
    assert len(world.probe.requests) == 1


async def test_a_verdict_that_cannot_be_recorded_is_not_announced() -> None:
    world = World(as_reply(good_reply))

    class Moving(type(world.verdict_store)):  # type: ignore[misc]
        async def write(self, verdict: ConnectionVerdict, revision: int) -> bool:
            return False  # another writer every time

    world.verdict_store = Moving()
    with pytest.raises(VerdictNotRecorded):
        await world.handle(versioned(1))
    assert world.verdicts() == []


async def test_deleting_the_connection_deletes_its_verdict() -> None:
    world = World(as_reply(good_reply))
    await world.handle(versioned(1))
    assert world.verdict_store.of("conn1") is not None
    await handle_connection_deleted(
        ConnectionDeleted(connection_id="conn1", user_id="user1", exchange="mexc"),
        index=world.index, scheduler=world.scheduler, ledger=world.ledger, verdicts=world.verdict_store,
    )
    assert world.verdict_store.of("conn1") is None


async def test_a_test_running_when_its_connection_is_deleted_records_nothing() -> None:
    world: World

    async def deleting_probe(req: ProbeRequest, timeout_s: float) -> ProbeReply:
        await handle_connection_deleted(
            ConnectionDeleted(connection_id=req.connection_id, user_id="user1", exchange="mexc"),
            index=world.index, scheduler=world.scheduler, ledger=world.ledger, verdicts=world.verdict_store,
        )
        return good_reply(request(connection_id=req.connection_id, test_id=req.test_id))

    world = World(as_reply(good_reply))
    world.probe.probe = deleting_probe  # type: ignore[method-assign,assignment]
    await world.handle(versioned(1))
    assert world.verdict_store.of("conn1") is None and world.verdict_store.writes == 0


async def test_a_new_leader_re_tests_online_connections_without_a_verdict_first() -> None:
    index, ledger, publish, clock, verdicts = FakeIndex(), FakeLedger(), FakePublisher(), FakeClock(), FakeVerdicts()
    legacy, recorded = versioned(1, connection_id="legacy"), versioned(1, connection_id="recorded")
    await online(index, ledger, legacy)  # indexed before verdicts were recorded
    await online(index, ledger, recorded)
    verdicts.force(ConnectionVerdict(connection_id="recorded", test_id=recorded.test_id, secret_version=1,
                                     status="passed", decided_at=T0))
    planner = Retester(index=index, publish=publish, clock=clock, settings=SCHEDULER_SETTINGS, metrics=FakeMetrics(),
                       verdicts=verdicts)
    assert await planner.tick() == 1
    (retest,) = publish.of(subjects.TEST_REQUESTED)
    assert isinstance(retest, TestRequested)
    assert (retest.connection_id, retest.reason, retest.secret_version) == ("legacy", TestReason.PERIODIC, 1)
    assert await planner.tick() == 0  # the other keeps its slot; the legacy one moved on
