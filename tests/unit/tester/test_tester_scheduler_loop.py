"""The re-test index (from events), the re-test planner and the leased scheduler loop."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bf_shared import subjects
from bf_shared.messages import (
    ConnectionDeleted,
    TestFailed,
    TestPassed,
    TestReason,
    TestRequested,
)

from bf_tester.domain.budget import bucket_shape
from bf_tester.domain.model import CurrentTest, Lease, PendingRetry
from bf_tester.domain.schedule import RetestEntry, next_due_at
from bf_tester.handlers import handle_connection_deleted, handle_test_failed, handle_test_passed
from bf_tester.scheduler import Retester, publish_due_retries, run_scheduler
from bf_tester.settings import TesterSettings

from .fakes import (
    FakeClock,
    FakeIndex,
    FakeLease,
    FakeLedger,
    FakeMetrics,
    FakePublisher,
    FakeRetryScheduler,
    FakeVerdicts,
    T0,
    down_reply,
    reply,
    request,
)

INTERVAL = 6 * 3600.0
SETTINGS = TesterSettings(retest_interval_s=INTERVAL, scheduler_tick_s=0.01, index_resync_s=60.0, probe_timeout_s=5.0)


def passed_event(cmd: TestRequested, at_s: float = 0) -> TestPassed:
    from bf_tester.domain.verdict import judge

    at = T0 + timedelta(seconds=at_s)
    result = judge(cmd, reply(cmd), started_at=at, finished_at=at, egress_ips=(), expiry_warning_days=14, now=at)
    return TestPassed(connection_id=cmd.connection_id, user_id=cmd.user_id, exchange=cmd.exchange, result=result)


def failed_event(cmd: TestRequested, at_s: float = 0, *, outage: bool = False, retry_pending: bool = False) -> TestFailed:
    from bf_tester.domain.verdict import judge

    at = T0 + timedelta(seconds=at_s)
    rep = down_reply(cmd) if outage else reply(cmd, withdraw=True)
    result = judge(cmd, rep, started_at=at, finished_at=at, egress_ips=(), expiry_warning_days=14, now=at)
    if retry_pending:
        result = result.model_copy(update={"next_retry_at": at + timedelta(seconds=5)})
    return TestFailed(connection_id=cmd.connection_id, user_id=cmd.user_id, exchange=cmd.exchange, result=result)


async def online(index: FakeIndex, ledger: FakeLedger, cmd: TestRequested, at_s: float = 0) -> None:
    await ledger.claim(CurrentTest(command=cmd))
    await handle_test_passed(passed_event(cmd, at_s), index=index, ledger=ledger, settings=SETTINGS)


# ----------------------------------------------------------------------------- index from events


async def test_passed_test_indexes_the_connection_on_its_slot() -> None:
    index, ledger = FakeIndex(), FakeLedger()
    cmd = request(markets=("spot", "futures"), attested=True)
    await online(index, ledger, cmd)
    entry = index.entries["conn1"]
    assert entry.next_due_at == next_due_at("conn1", INTERVAL, T0)
    assert entry.template == cmd and entry.last_verdict_at == T0


async def test_late_older_events_do_not_undo_newer_ones() -> None:
    index, ledger = FakeIndex(), FakeLedger()
    cmd = request()
    await online(index, ledger, cmd, at_s=100)
    await handle_test_passed(passed_event(cmd, at_s=50), index=index, ledger=ledger, settings=SETTINGS)
    assert index.entries["conn1"].last_verdict_at == T0 + timedelta(seconds=100)
    await handle_test_failed(failed_event(cmd, at_s=60), index=index, ledger=ledger, settings=SETTINGS)
    assert "conn1" in index.entries
    await handle_test_failed(failed_event(cmd, at_s=160), index=index, ledger=ledger, settings=SETTINGS)
    assert "conn1" not in index.entries


async def test_deleted_connection_leaves_the_index_and_is_never_re_added() -> None:
    index, ledger, scheduler = FakeIndex(), FakeLedger(), FakeRetryScheduler()
    cmd = request()
    await online(index, ledger, cmd)
    await handle_connection_deleted(
        ConnectionDeleted(connection_id="conn1", user_id="user1", exchange="mexc"),
        index=index, scheduler=scheduler, ledger=ledger, verdicts=FakeVerdicts(),
    )
    assert index.entries == {}
    await handle_test_passed(passed_event(cmd, at_s=5), index=index, ledger=ledger, settings=SETTINGS)
    assert index.entries == {}


async def test_an_outage_that_outlasts_the_retries_keeps_the_connection_on_a_short_slot() -> None:
    index, ledger = FakeIndex(), FakeLedger()
    cmd = request()
    await online(index, ledger, cmd)
    # While a retry is pending, the retry owns recovery: no periodic re-test.
    await handle_test_failed(failed_event(cmd, 10, outage=True, retry_pending=True), index=index, ledger=ledger, settings=SETTINGS)
    assert index.entries == {}
    # The last retry failed too: re-test on the outage slot until the exchange is back.
    await handle_test_failed(failed_event(cmd, 20, outage=True), index=index, ledger=ledger, settings=SETTINGS)
    entry = index.entries["conn1"]
    assert entry.kind == "outage"
    assert entry.next_due_at == next_due_at("conn1", SETTINGS.outage_retest_s, T0 + timedelta(seconds=20))
    assert entry.next_due_at <= T0 + timedelta(seconds=20 + 1.5 * SETTINGS.outage_retest_s)
    # Back Online: the long interval again.
    await handle_test_passed(passed_event(cmd, 30), index=index, ledger=ledger, settings=SETTINGS)
    assert index.entries["conn1"].kind == "online"


async def test_a_key_problem_takes_the_connection_out_of_the_index() -> None:
    index, ledger = FakeIndex(), FakeLedger()
    cmd = request()
    await online(index, ledger, cmd)
    await handle_test_failed(failed_event(cmd, 10), index=index, ledger=ledger, settings=SETTINGS)
    assert index.entries == {}


async def test_outage_entries_are_re_tested_on_the_outage_interval() -> None:
    index, ledger, publish, clock, metrics = FakeIndex(), FakeLedger(), FakePublisher(), FakeClock(), FakeMetrics()
    cmd = request()
    await ledger.claim(CurrentTest(command=cmd))
    await handle_test_failed(failed_event(cmd, outage=True), index=index, ledger=ledger, settings=SETTINGS)
    planner = retester(index, publish, clock, metrics)
    clock.t = index.entries["conn1"].next_due_at
    assert await planner.tick() == 1
    (retest,) = publish.of(subjects.TEST_REQUESTED)
    assert retest.reason == TestReason.PERIODIC  # type: ignore[attr-defined]
    moved = index.entries["conn1"].next_due_at - clock.now()
    assert moved == timedelta(seconds=SETTINGS.outage_retest_s)


async def test_passed_without_a_command_on_record_is_not_indexed() -> None:
    index, ledger = FakeIndex(), FakeLedger()
    await handle_test_passed(passed_event(request()), index=index, ledger=ledger, settings=SETTINGS)
    assert index.entries == {}


# ----------------------------------------------------------------------------- retries


async def test_due_retries_are_published_once_then_again_only_if_lost() -> None:
    scheduler, publish, clock = FakeRetryScheduler(), FakePublisher(), FakeClock()
    retry = request(reason=TestReason.RETRY, attempt=2)
    await scheduler.schedule(PendingRetry(command=retry, due_at=T0 + timedelta(seconds=10)))
    kw = {"scheduler": scheduler, "publish": publish, "clock": clock, "settings": SETTINGS}

    assert await publish_due_retries(**kw) == 0
    clock.advance(10)
    assert await publish_due_retries(**kw) == 1
    assert await publish_due_retries(**kw) == 0  # published, waiting for the handler
    clock.advance(SETTINGS.republish_after_s)
    assert await publish_due_retries(**kw) == 1  # never handled: it was lost
    assert publish.of(subjects.TEST_REQUESTED) == [retry, retry]


# ----------------------------------------------------------------------------- periodic re-tests


def retester(index: FakeIndex, publish: FakePublisher, clock: FakeClock, metrics: FakeMetrics) -> Retester:
    return Retester(index=index, publish=publish, clock=clock, settings=SETTINGS, metrics=metrics)


async def test_due_connections_are_re_tested_with_the_last_command_and_move_on_a_slot() -> None:
    index, ledger, publish, clock, metrics = FakeIndex(), FakeLedger(), FakePublisher(), FakeClock(), FakeMetrics()
    cmd = request(markets=("futures",), attested=True, key_reused="other_user")
    await online(index, ledger, cmd)
    planner = retester(index, publish, clock, metrics)

    assert await planner.tick() == 0  # not due yet
    due = index.entries["conn1"].next_due_at
    clock.t = due
    assert await planner.tick() == 1
    (retest,) = publish.of(subjects.TEST_REQUESTED)
    assert isinstance(retest, TestRequested)
    assert retest.reason == TestReason.PERIODIC and retest.attempt == 1 and retest.test_id != cmd.test_id
    assert (retest.markets, retest.withdraw_attested, retest.key_reused) == (("futures",), True, "other_user")
    assert index.entries["conn1"].next_due_at == due + timedelta(seconds=INTERVAL)
    assert await planner.tick() == 0  # not twice
    assert metrics.retests == ["mexc"]


async def test_budget_defers_a_burst_of_due_connections() -> None:
    index, ledger, publish, clock, metrics = FakeIndex(), FakeLedger(), FakePublisher(), FakeClock(), FakeMetrics()
    for i in range(40):
        await online(index, ledger, request(connection_id=f"k{i}", exchange="kucoin"))
    clock.advance(2 * INTERVAL)  # everything is overdue (e.g. the scheduler was down)
    planner = retester(index, publish, clock, metrics)

    # With 10 ms ticks KuCoin's bucket holds two re-tests (one tick's worth, plus one).
    assert bucket_shape("kucoin", 0.5, SETTINGS.scheduler_tick_s).capacity == 2
    first = await planner.tick()
    assert first == 2
    assert metrics.deferred == [("kucoin", 38)]
    assert await planner.tick() == 0  # no time passed, no token
    clock.advance(30)
    assert await planner.tick() == 2  # refilled, but never beyond the capacity
    assert len(publish.of(subjects.TEST_REQUESTED)) == 4


async def test_a_connection_removed_meanwhile_is_not_re_tested() -> None:
    index, ledger, publish, clock, metrics = FakeIndex(), FakeLedger(), FakePublisher(), FakeClock(), FakeMetrics()
    await online(index, ledger, request())
    planner = retester(index, publish, clock, metrics)
    await planner.tick()  # loads the mirror
    await index.remove("conn1")  # failed or deleted since the last resync
    clock.advance(2 * INTERVAL)
    assert await planner.tick() == 0
    assert publish.sent == []


async def test_a_failed_publish_keeps_the_connection_due() -> None:
    index, ledger, publish, clock, metrics = FakeIndex(), FakeLedger(), FakePublisher(), FakeClock(), FakeMetrics()
    await online(index, ledger, request())
    clock.advance(2 * INTERVAL)
    planner = retester(index, publish, clock, metrics)
    publish.fail_next = 1
    try:
        await planner.tick()
    except ConnectionError:
        pass
    assert index.entries["conn1"].next_due_at <= clock.now()
    clock.advance(5)
    assert await planner.tick() == 1


def test_the_index_refresh_never_lags_behind_the_shortest_interval() -> None:
    assert SETTINGS.index_refresh_s == 60.0
    short = TesterSettings(outage_retest_s=2.0, index_resync_s=60.0)
    assert short.index_refresh_s == 0.5


async def test_the_index_is_re_read_only_every_resync_period() -> None:
    index, ledger, publish, clock, metrics = FakeIndex(), FakeLedger(), FakePublisher(), FakeClock(), FakeMetrics()
    planner = retester(index, publish, clock, metrics)
    for _ in range(5):
        await planner.tick()
        clock.advance(1)
    assert index.reads == 1
    clock.advance(SETTINGS.index_refresh_s)
    await planner.tick()
    assert index.reads == 2


# ----------------------------------------------------------------------------- the leased loop


async def test_only_the_lease_holder_publishes_and_a_successor_takes_over() -> None:
    clock = FakeClock()
    leases: dict[str, Lease] = {}
    scheduler, index = FakeRetryScheduler(), FakeIndex()
    publishers = [FakePublisher(), FakePublisher()]
    lease_objs = [FakeLease(leases, f"replica-{i}", clock) for i in range(2)]
    stops = [asyncio.Event(), asyncio.Event()]

    def loop(i: int) -> asyncio.Task[None]:
        return asyncio.create_task(
            run_scheduler(
                lease=lease_objs[i],
                scheduler=scheduler,
                retester=Retester(index=index, publish=publishers[i], clock=clock, settings=SETTINGS, metrics=FakeMetrics()),
                publish=publishers[i],
                clock=clock,
                settings=SETTINGS,
                stop=stops[i],
            )
        )

    tasks = [loop(0)]
    await asyncio.sleep(0.05)
    tasks.append(loop(1))
    await scheduler.schedule(PendingRetry(command=request(connection_id="a", reason=TestReason.RETRY, attempt=2), due_at=T0))
    await asyncio.sleep(0.1)
    assert len(publishers[0].sent) == 1 and publishers[1].sent == []

    stops[0].set()  # clean shutdown releases the lease
    await tasks[0]
    assert lease_objs[0].released and "lease" not in leases or leases["lease"].holder == "replica-1"
    await scheduler.schedule(PendingRetry(command=request(connection_id="b", reason=TestReason.RETRY, attempt=2), due_at=T0))
    await asyncio.sleep(0.1)
    assert [m.connection_id for _, m in publishers[1].sent] == ["b"]  # type: ignore[attr-defined]
    stops[1].set()
    await tasks[1]


async def test_a_crashed_leader_is_replaced_after_its_lease_expires() -> None:
    clock = FakeClock()
    leases = {"lease": Lease(holder="crashed", expires_at=T0 + timedelta(seconds=15))}
    scheduler, publish, stop = FakeRetryScheduler(), FakePublisher(), asyncio.Event()
    await scheduler.schedule(PendingRetry(command=request(reason=TestReason.RETRY, attempt=2), due_at=T0))
    task = asyncio.create_task(
        run_scheduler(
            lease=FakeLease(leases, "successor", clock),
            scheduler=scheduler,
            retester=Retester(index=FakeIndex(), publish=publish, clock=clock, settings=SETTINGS, metrics=FakeMetrics()),
            publish=publish,
            clock=clock,
            settings=SETTINGS,
            stop=stop,
        )
    )
    await asyncio.sleep(0.05)
    assert publish.sent == []
    clock.advance(16)
    await asyncio.sleep(0.05)
    assert len(publish.sent) == 1 and leases["lease"].holder == "successor"
    stop.set()
    await task


async def test_a_failing_tick_does_not_stop_the_loop() -> None:
    clock = FakeClock()
    scheduler, publish, stop = FakeRetryScheduler(), FakePublisher(), asyncio.Event()
    await scheduler.schedule(PendingRetry(command=request(reason=TestReason.RETRY, attempt=2), due_at=T0))
    publish.fail_next = 2
    task = asyncio.create_task(
        run_scheduler(
            lease=FakeLease({}, "me", clock),
            scheduler=scheduler,
            retester=Retester(index=FakeIndex(), publish=publish, clock=clock, settings=SETTINGS, metrics=FakeMetrics()),
            publish=publish,
            clock=clock,
            settings=SETTINGS,
            stop=stop,
        )
    )
    await asyncio.sleep(0.1)
    stop.set()
    await task
    assert len(publish.sent) >= 1


def test_online_entry_round_trips_as_json() -> None:
    cmd = request()
    entry = RetestEntry(connection_id="c", exchange="mexc", template=cmd, last_verdict_at=T0, next_due_at=T0)
    assert RetestEntry.model_validate_json(entry.model_dump_json()) == entry
