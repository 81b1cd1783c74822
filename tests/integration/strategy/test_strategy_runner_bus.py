"""The runner on a real nats-server: ownership, failover, pause/resume, disable.

Each test gets its own nats-server (buckets and streams start empty). Runners run in this
process (:class:`RunnerService`) or as ``python -m bf_runner`` children where a kill -9 is
needed; a bus double stands in for the connector and the exchange.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy
from nats.js.kv import KeyValue
from prometheus_client import CollectorRegistry

from bf_launch.nats import NatsServer
from bf_shared import subjects
from bf_shared.bus import ensure_streams, kv_bucket, publish
from bf_shared.bus import make_broker
from bf_shared.messages import ConnectionDeleted, Permissions, TestFailed, TestPassed, TestResult
from bf_shared.strategy import StrategyParams
from bf_shared.strategy_messages import StrategyLeaseLost, lease_lost_id

from bf_runner.bootstrap import RunnerService
from bf_runner.domain.leases import Claim, claim_key
from bf_runner.settings import RunnerSettings

from .strategy_bus_fakes import BusVenue, eventually, put_spec, runner_process, spec, status_of

PARAMS = StrategyParams.model_validate(dict(
    name="it", pairs=["BTC/USDT"], market="spot", risk_level="moderate", base_order_quote=20,
    margin_limit_quote=1000, reinforcement=dict(max_adds=3, step_pct=2, size_multiplier=2, step_multiplier=1),
    take_profit_pct=1, recovery_mode=dict(enabled=True, trigger_drawdown_pct=10, exit="breakeven",
                                          partial_close_pct=25)))

FAST = dict(lease_ttl_s=5.0, heartbeat_s=1.0, scan_s=0.5, order_timeout_s=2.0, reconcile_s=5.0, interest_s=1.0)


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    server = NatsServer(tmp_path / "nats", tmp_path / "logs")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest_asyncio.fixture
async def bus(nats_url: str) -> AsyncIterator[tuple[Client, KeyValue]]:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    kv = await kv_bucket(js, subjects.KV_STRATEGIES)
    yield nc, kv
    await nc.close()


@pytest_asyncio.fixture
async def venue(bus: tuple[Client, KeyValue]) -> BusVenue:
    v = BusVenue(bus[0])
    await v.start()
    v.prices["BTC/USDT"] = Decimal(100)
    v.prices["ETH/USDT"] = Decimal(10)
    return v


async def start_runner(nats_url: str, name: str) -> RunnerService:
    service = RunnerService(RunnerSettings(nats_url=nats_url, runner_id=name, **FAST),  # type: ignore[arg-type]
                            registry=CollectorRegistry(), with_ops=False)
    await service.start()
    return service


def result(status: str) -> TestResult:
    now = datetime.now(UTC)
    return TestResult(test_id="t-" + status + str(now.timestamp()), status=status, started_at=now,  # type: ignore[arg-type]
                      finished_at=now, checks=(), permissions=Permissions(read=True, trade=True, withdraw=False),
                      ip_restricted=True, error=None)


async def test_runner_opens_trades_and_persists_a_strategy(nats_url: str, bus: tuple[Client, KeyValue],
                                                           venue: BusVenue) -> None:
    nc, kv = bus
    runner = await start_runner(nats_url, "r1")
    try:
        await put_spec(kv, spec("s1", PARAMS))
        assert runner.supervisor is not None
        await eventually(lambda: _owned(runner, "s1"), 10, "runner owns s1")

        async def two_orders() -> bool:
            return len(venue.open_orders("s1")) == 2  # take profit and first reinforcement

        await eventually(two_orders, 10, "base order filled, exits placed", every=lambda: venue.tick("BTC/USDT", 100))
        view = await status_of(kv, "s1")
        assert view is not None and view.status == "running" and view.runner_id == "r1"
        assert view.pairs[0].phase == "in_position" and view.exposure_quote > 0
        state = json.loads((await kv.get("state.s1")).value)
        assert state["deals"][0]["qty"] == "0.1990"
    finally:
        await runner.stop()


async def _owned(runner: RunnerService, sid: str) -> bool:
    return runner.supervisor is not None and sid in runner.supervisor.owners and \
        runner.supervisor.owners[sid].opened.is_set()


async def test_two_runners_share_strategies_and_each_has_exactly_one_owner(
        nats_url: str, bus: tuple[Client, KeyValue], venue: BusVenue) -> None:
    nc, kv = bus
    ids = [f"share{i}" for i in range(6)]
    for sid in ids:
        await put_spec(kv, spec(sid, PARAMS))
    a = await start_runner(nats_url, "ra")
    b = await start_runner(nats_url, "rb")
    try:
        async def split() -> bool:
            assert a.supervisor and b.supervisor
            return len(a.supervisor.owners) == 3 and len(b.supervisor.owners) == 3
        await eventually(split, 20, "an even split of 6 strategies")
        assert a.supervisor and b.supervisor
        assert set(a.supervisor.owners) | set(b.supervisor.owners) == set(ids)
        assert not set(a.supervisor.owners) & set(b.supervisor.owners)
    finally:
        await a.stop()
    # a graceful stop hands everything over at once
    try:
        await eventually(lambda: _count(b, 6), 10, "the remaining runner owns all 6")
    finally:
        await b.stop()


async def _count(runner: RunnerService, n: int) -> bool:
    return runner.supervisor is not None and len(runner.supervisor.owners) == n


async def test_killed_runner_is_taken_over_within_ttl_plus_5s_without_duplicate_orders(
        nats_url: str, bus: tuple[Client, KeyValue], venue: BusVenue, tmp_path: Path) -> None:
    nc, kv = bus
    env = {f"BACKFUTURE_{k.upper()}": str(v) for k, v in FAST.items()}
    ids = [f"fo{i}" for i in range(4)]
    for sid in ids:
        await put_spec(kv, spec(sid, PARAMS))
    victim = runner_process("victim", nats_url, tmp_path, **env)
    victim.start()
    await asyncio.to_thread(victim.wait_ready, 60)
    survivor = None
    try:
        async def victim_traded() -> bool:
            return all(len(venue.open_orders(s)) == 2 for s in ids)
        await eventually(victim_traded, 30, "the victim opens every strategy", every=lambda: venue.tick("BTC/USDT", 100))
        survivor = await start_runner(nats_url, "survivor")
        await asyncio.sleep(2)
        before = {cid: o.status for cid, o in venue.orders.items()}
        victim.signal(signal.SIGKILL)
        await asyncio.to_thread(victim.kill)
        # What the dead runner still holds (some may have been handed over before the kill);
        # nobody can take these over before its session expires.
        victims = await _claimed_by(await nc.jetstream().key_value(subjects.KV_LEASES), ids, "victim")
        assert victims
        took = await eventually(lambda: _count(survivor, 4), FAST["lease_ttl_s"] + 5, "takeover within TTL + 5 s")
        assert took <= FAST["lease_ttl_s"] + 5
        # every strategy of the killed runner is announced once, by the runner that took it over;
        # the ones handed over before the kill are not
        lost = await _lease_lost_events(nc, len(victims))
        assert sorted(e.strategy_id for e, _ in lost) == sorted(victims)
        for event, msg_id in lost:
            assert msg_id == event.message_id == lease_lost_id(event.strategy_id, victims[event.strategy_id])
            assert (event.user_id, event.connection_id, event.previous_owner, event.new_owner) == \
                ("user1", "conn1", "victim", "survivor")
            assert event.lost_at <= event.occurred_at
        # the survivor continues from the persisted state: the first reinforcement fills and
        # the exit is re-priced, each exactly once
        await eventually(lambda: _adds_done(kv, ids, 1), 20, "reinforcement 1 applied",
                         every=lambda: venue.tick("BTC/USDT", 98))
        for sid in ids:
            placed = venue.placed(sid)
            kinds = sorted((o.request.side, str(o.request.price)) for o in placed)
            assert len(kinds) == len(set(kinds)), f"duplicate order for {sid}: {kinds}"
            assert sum(1 for o in placed if o.status == "open" and o.request.side == "sell") == 1
        assert set(before) <= set(venue.orders)
    finally:
        if survivor is not None:
            await survivor.stop()
        victim.stop()


async def _claimed_by(leases: KeyValue, ids: list[str], runner_id: str) -> dict[str, str]:
    """Strategy id -> session id of the claims ``runner_id`` holds."""
    out = {}
    for sid in ids:
        claim = Claim.model_validate_json((await leases.get(claim_key(sid))).value or b"{}")
        if claim.runner_id == runner_id:
            out[sid] = claim.session_id
    return out


async def _lease_lost_events(nc: Client, expected: int) -> list[tuple[StrategyLeaseLost, str | None]]:
    """Every lease-lost event the events stream holds, with its Nats-Msg-Id; waits for
    ``expected`` of them, then a little longer so that a duplicate would show."""
    js = nc.jetstream()
    sub = await js.subscribe(subjects.STRATEGY_LEASE_LOST, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    out: list[tuple[StrategyLeaseLost, str | None]] = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=10.0 if len(out) < expected else 1.0)
            except nats.errors.TimeoutError:
                return out
            out.append((StrategyLeaseLost.model_validate_json(msg.data), (msg.headers or {}).get("Nats-Msg-Id")))
    finally:
        await sub.unsubscribe()


async def _adds_done(kv: KeyValue, ids: list[str], n: int) -> bool:
    for sid in ids:
        view = await status_of(kv, sid)
        if view is None or view.pairs[0].adds_done < n or view.pairs[0].open_orders != 2:
            return False
    return True


async def test_connection_offline_pauses_and_a_passing_retest_resumes(
        nats_url: str, bus: tuple[Client, KeyValue], venue: BusVenue) -> None:
    nc, kv = bus
    runner = await start_runner(nats_url, "r1")
    broker = make_broker(nats_url, "test")
    await broker.connect()
    events: list[str] = []

    async def record(msg: Msg) -> None:
        events.append(msg.subject)

    sub = await nc.subscribe("bf.evt.strategy.>", cb=record)
    try:
        await put_spec(kv, spec("p1", PARAMS))
        await eventually(lambda: _open_count(venue, "p1", 2), 10, "strategy trading",
                         every=lambda: venue.tick("BTC/USDT", 100))
        await publish(broker, subjects.TEST_FAILED, TestFailed(connection_id="conn1", user_id="user1",
                                                               exchange="mexc", result=result("failed")))
        await eventually(lambda: _status_is(kv, "p1", "paused"), 10, "strategy paused")
        view = await status_of(kv, "p1")
        assert view is not None and view.reason == "connection_offline"
        placed = len(venue.orders)
        for _ in range(5):  # the reinforcement fills on the exchange; the runner must not react
            await venue.tick("BTC/USDT", 98)
            await asyncio.sleep(0.2)
        assert len(venue.orders) == placed
        await publish(broker, subjects.TEST_PASSED, TestPassed(connection_id="conn1", user_id="user1",
                                                               exchange="mexc", result=result("passed")))
        await eventually(lambda: _status_is(kv, "p1", "running"), 10, "strategy resumed")
        # on resume it asks the exchange and catches up: add 1 filled, next add and new exit placed
        await eventually(lambda: _adds_done(kv, ["p1"], 1), 10, "fills caught up after resume")
        await eventually(lambda: _has(events, subjects.STRATEGY_RESUMED), 5, "resumed event")
        assert subjects.STRATEGY_PAUSED in events
    finally:
        await sub.unsubscribe()
        await broker.stop()
        await runner.stop()


async def _has(events: list[str], subject: str) -> bool:
    return subject in events


async def _open_count(venue: BusVenue, sid: str, n: int) -> bool:
    return len(venue.open_orders(sid)) == n


async def _status_is(kv: KeyValue, sid: str, status: str) -> bool:
    view = await status_of(kv, sid)
    return view is not None and view.status == status


async def test_disabling_cancels_every_open_order(nats_url: str, bus: tuple[Client, KeyValue],
                                                  venue: BusVenue) -> None:
    nc, kv = bus
    runner = await start_runner(nats_url, "r1")
    try:
        s = spec("d1", PARAMS.model_copy(update={"pairs": ("BTC/USDT", "ETH/USDT")}))
        await put_spec(kv, s)

        async def tick_both() -> None:
            await venue.tick("BTC/USDT", 100)
            await venue.tick("ETH/USDT", 10)
        await eventually(lambda: _open_count(venue, "d1", 4), 10, "both pairs trading", every=tick_both)
        await put_spec(kv, s.model_copy(update={"enabled": False, "version": 2}))

        async def finished() -> bool:
            view = await status_of(kv, "d1")
            return view is not None and view.finished
        await eventually(finished, 10, "disable finished")
        assert venue.open_orders("d1") == []
        view = await status_of(kv, "d1")
        assert view is not None and view.status == "disabled"
        assert runner.supervisor is not None
        await eventually(lambda: _not_owned(runner, "d1"), 5, "claim released")
    finally:
        await runner.stop()


async def _not_owned(runner: RunnerService, sid: str) -> bool:
    return runner.supervisor is not None and sid not in runner.supervisor.owners


async def test_a_deleted_connection_disables_its_strategies(nats_url: str, bus: tuple[Client, KeyValue],
                                                            venue: BusVenue) -> None:
    nc, kv = bus
    runner = await start_runner(nats_url, "r1")
    broker = make_broker(nats_url, "test")
    await broker.connect()
    try:
        await put_spec(kv, spec("del1", PARAMS))
        await eventually(lambda: _open_count(venue, "del1", 2), 10, "strategy trading",
                         every=lambda: venue.tick("BTC/USDT", 100))
        await publish(broker, subjects.CONNECTION_DELETED,
                      ConnectionDeleted(connection_id="conn1", user_id="user1", exchange="mexc"))

        async def finished() -> bool:
            view = await status_of(kv, "del1")
            return view is not None and view.finished
        await eventually(finished, 10, "strategy disabled")
        view = await status_of(kv, "del1")
        assert view is not None and view.status == "disabled" and view.reason == "the connection was deleted"
        assert venue.open_orders("del1") == []  # cancelled while the connector could still do it
    finally:
        await broker.stop()
        await runner.stop()
