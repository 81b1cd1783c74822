"""The runner's owner of one strategy, over hand-written fakes of its ports."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bf_shared import subjects
from bf_shared.messages import Message
from bf_shared.strategy import StrategyParams
from bf_shared.strategy_messages import (
    MarketRules,
    OrderError,
    OrderReply,
    OrderRequest,
    OrderView,
    StrategySpec,
    StrategyStatusView,
)

from bf_runner.domain.model import Status, StrategyState
from bf_runner.markets import MarketsCache
from bf_runner.owner import ConnectionChanged, Owner, OwnerDeps
from bf_runner.ports import ConnectorUnavailable, StaleRevision
from bf_runner.settings import RunnerSettings

PAIR = "BTC/USDT"
PARAMS = StrategyParams.model_validate(dict(
    name="o", pairs=[PAIR], market="spot", risk_level="moderate", base_order_quote=20, margin_limit_quote=1000,
    reinforcement=dict(max_adds=2, step_pct=2, size_multiplier=2, step_multiplier=1), take_profit_pct=1,
    recovery_mode=dict(enabled=False, trigger_drawdown_pct=10, exit="breakeven", partial_close_pct=0)))
RULES = MarketRules(symbol=PAIR, pair=PAIR, base="BTC", quote="USDT", market="spot", amount_step=Decimal("0.0001"),
                    price_step=Decimal("0.01"), min_amount=Decimal("0.0001"), min_cost=Decimal(1))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def now_ms(self) -> int:
        return self.now


@dataclass
class FakeStore:
    """Compare-and-set like KV; ``steal()`` simulates another runner writing the state."""

    states: dict[str, tuple[StrategyState, int]] = field(default_factory=dict)
    statuses: list[StrategyStatusView] = field(default_factory=list)
    connection: str | None = None
    revision: int = 0
    history: list[StrategyState] = field(default_factory=list)

    async def load_state(self, strategy_id: str) -> tuple[StrategyState, int] | None:
        return self.states.get(strategy_id)

    async def save_state(self, state: StrategyState, revision: int | None) -> int:
        current = self.states.get(state.strategy_id)
        if (current[1] if current else None) != revision:
            raise StaleRevision(state.strategy_id)
        self.revision += 1
        self.states[state.strategy_id] = (state, self.revision)
        self.history.append(state)
        return self.revision

    async def save_status(self, view: StrategyStatusView) -> None:
        self.statuses.append(view)

    async def connection_state(self, connection_id: str) -> Any:
        return self.connection

    def steal(self, strategy_id: str) -> None:
        state, _ = self.states[strategy_id]
        self.revision += 1
        self.states[strategy_id] = (state, self.revision)


@dataclass
class FakeConnector:
    """Answers order calls; ``script`` overrides the answer for the next calls."""

    store: FakeStore
    requests: list[OrderRequest] = field(default_factory=list)
    persisted_when_sent: list[bool] = field(default_factory=list)
    script: list[OrderReply | Exception] = field(default_factory=list)
    markets_down: bool = False

    async def order(self, request: OrderRequest, timeout_s: float) -> OrderReply:
        self.requests.append(request)
        state = self.store.states.get(request.strategy_id or "")
        self.persisted_when_sent.append(state is not None and any(
            o.client_order_id == request.client_order_id for d in state[0].deals for o in d.orders))
        if self.script:
            answer = self.script.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        filled = request.side == "buy" and request.price is not None and request.price >= 100
        amount = request.amount or Decimal(0)
        view = OrderView(client_order_id=request.client_order_id, symbol=request.symbol, side=request.side or "buy",
                         type=request.type or "limit", price=request.price, amount=amount,
                         filled=amount if filled else Decimal(0), cost=amount * 100 if filled else Decimal(0),
                         status="closed" if filled else "open", fee_cost=Decimal(0), fee_currency="USDT")
        return OrderReply(request_id=request.request_id, ok=True, order=view)

    async def markets(self, exchange: str, market: str, timeout_s: float) -> tuple[MarketRules, ...]:
        if self.markets_down:
            raise ConnectorUnavailable("down")
        return (RULES,)


@dataclass
class FakeEvents:
    published: list[tuple[str, Message]] = field(default_factory=list)

    async def publish(self, subject: str, message: Message) -> None:
        self.published.append((subject, message))


class FakeMetrics:
    def __init__(self) -> None:
        self.roundtrips: list[tuple[str, str]] = []

    def owned(self, count: int) -> None: ...
    def takeover(self) -> None: ...
    def evaluations(self, count: int) -> None: ...

    def order_roundtrip(self, action: str, seconds: float, outcome: str) -> None:
        self.roundtrips.append((action, outcome))


@dataclass
class World:
    store: FakeStore = field(default_factory=FakeStore)
    events: FakeEvents = field(default_factory=FakeEvents)
    metrics: FakeMetrics = field(default_factory=FakeMetrics)
    clock: FakeClock = field(default_factory=FakeClock)

    def __post_init__(self) -> None:
        self.connector = FakeConnector(self.store)
        settings = RunnerSettings(order_retries=3, order_timeout_s=0.1, reconcile_s=3600)
        self.deps = OwnerDeps(store=self.store, connector=self.connector, events=self.events, clock=self.clock,
                              metrics=self.metrics, markets=MarketsCache(self.connector, self.clock, 600, 1),
                              settings=settings, runner_id="r1")

    def owner(self, pairs: tuple[str, ...] = (PAIR,)) -> Owner:
        spec = StrategySpec(strategy_id="s1", user_id="u1", connection_id="c1", exchange="mexc",
                            params=PARAMS.model_copy(update={"pairs": pairs}))
        return Owner(spec, self.deps)


async def run_until(owner: Owner, connection: Any, check: Any) -> asyncio.Task[None]:
    task = asyncio.create_task(owner.run(connection))
    for _ in range(200):
        if check():
            return task
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def stop(owner: Owner, task: asyncio.Task[None]) -> None:
    owner.stop()
    await asyncio.wait_for(task, 2)


async def test_orders_are_persisted_before_they_are_sent() -> None:
    w = World()
    owner = w.owner()
    task = await run_until(owner, "online", owner.opened.is_set)
    owner.offer_tick(PAIR, Decimal(100))
    for _ in range(100):
        if len(w.connector.requests) >= 3:
            break
        await asyncio.sleep(0.01)
    await stop(owner, task)
    assert [r.action for r in w.connector.requests] == ["place", "place", "place"]  # base, exit, add
    assert all(w.connector.persisted_when_sent)
    assert owner.state is not None and owner.state.deals[0].phase.value == "in_position"
    assert w.store.statuses[-1].status == "running" and w.store.statuses[-1].runner_id == "r1"
    assert [a for a, _ in w.metrics.roundtrips] == ["place", "place", "place"]


async def test_a_tick_inside_the_watch_band_does_not_wake_the_owner() -> None:
    w = World()
    owner = w.owner()
    task = await run_until(owner, "online", owner.opened.is_set)
    owner.offer_tick(PAIR, Decimal(100))
    for _ in range(100):
        if len(w.connector.requests) >= 3:
            break
        await asyncio.sleep(0.01)
    writes = len(w.store.history)
    owner.offer_tick(PAIR, Decimal("100.5"))  # between the add (98) and the exit (101)
    assert owner._ticks == {}  # dropped before queueing
    await asyncio.sleep(0.05)
    assert len(w.store.history) == writes and len(w.connector.requests) == 3
    await stop(owner, task)


async def test_losing_the_compare_and_set_stops_the_owner_without_sending() -> None:
    w = World()
    owner = w.owner()
    task = await run_until(owner, "online", owner.opened.is_set)
    w.store.steal("s1")  # another runner took over and wrote the state
    owner.offer_tick(PAIR, Decimal(100))
    await asyncio.wait_for(task, 2)
    assert owner.lost and w.connector.requests == []


async def test_a_refused_key_pauses_and_announces_it() -> None:
    w = World()
    w.connector.script = [OrderReply(request_id="x", ok=False, error=OrderError(code="invalid_key"))]
    owner = w.owner()
    task = await run_until(owner, "online", owner.opened.is_set)
    owner.offer_tick(PAIR, Decimal(100))
    for _ in range(100):
        if owner.state is not None and owner.state.status is Status.PAUSED:
            break
        await asyncio.sleep(0.01)
    assert owner.state is not None and owner.state.paused_by == ("connection_offline",)
    assert [s for s, _ in w.events.published] == [subjects.STRATEGY_PAUSED]
    assert w.events.published[0][1].message_id == "s1.1"
    # the connection passes a test again: resume, and the unsent base order goes out
    owner.notify(ConnectionChanged("online"))
    for _ in range(100):
        if len(w.connector.requests) >= 4:
            break
        await asyncio.sleep(0.01)
    await stop(owner, task)
    assert w.connector.requests[1].client_order_id == w.connector.requests[0].client_order_id
    assert [s for s, _ in w.events.published] == [subjects.STRATEGY_PAUSED, subjects.STRATEGY_RESUMED]


async def test_retryable_failures_retry_with_the_same_client_id() -> None:
    w = World()
    w.connector.script = [ConnectorUnavailable("timeout"),
                          OrderReply(request_id="x", ok=False, error=OrderError(code="rate_limited", retryable=True))]
    owner = w.owner()
    task = await run_until(owner, "online", owner.opened.is_set)
    owner.offer_tick(PAIR, Decimal(100))
    for _ in range(300):
        if len(w.connector.requests) >= 5:
            break
        await asyncio.sleep(0.01)
    await stop(owner, task)
    ids = [r.client_order_id for r in w.connector.requests[:3]]
    assert len(set(ids)) == 1  # the base order, three times, one id
    assert ("place", "timeout") in w.metrics.roundtrips and ("place", "error") in w.metrics.roundtrips


async def test_a_pair_the_exchange_does_not_list_fails_the_strategy() -> None:
    w = World()
    owner = w.owner(pairs=("DOGE/USDT",))
    task = await run_until(owner, "online", owner.opened.is_set)
    await stop(owner, task)
    assert owner.state is not None and owner.state.status is Status.FAILED
    assert owner.state.error is not None and owner.state.error.code == "unknown_pair"
    assert [s for s, _ in w.events.published] == [subjects.STRATEGY_FAILED]


async def test_an_offline_connection_at_takeover_starts_paused_and_sends_nothing() -> None:
    w = World()
    owner = w.owner()
    task = await run_until(owner, "offline", owner.opened.is_set)
    owner.offer_tick(PAIR, Decimal(100))
    await asyncio.sleep(0.05)
    await stop(owner, task)
    assert owner.state is not None and owner.state.status is Status.PAUSED
    assert w.connector.requests == []


async def test_an_event_lost_in_a_crash_is_published_by_the_next_owner() -> None:
    w = World()
    first = w.owner()
    task = await run_until(first, "online", first.opened.is_set)
    await stop(first, task)
    assert first.state is not None
    # the previous owner persisted a pause but died before publishing it
    crashed = first.state.model_copy(update={"status": Status.PAUSED, "paused_by": ("connection_offline",),
                                             "transitions": 5, "last_transition": "paused:connection_offline",
                                             "published": 4})
    w.store.states["s1"] = (crashed, w.store.states["s1"][1])
    second = w.owner()
    task = await run_until(second, "offline", second.opened.is_set)
    await stop(second, task)
    assert [(s, m.message_id) for s, m in w.events.published] == [(subjects.STRATEGY_PAUSED, "s1.5")]


async def test_markets_unavailable_keeps_waiting_and_a_stop_releases_it_at_once() -> None:
    w = World()
    w.connector.markets_down = True
    owner = w.owner()
    task = asyncio.create_task(owner.run("online"))
    await asyncio.sleep(0.1)
    assert not owner.opened.is_set() and w.store.states == {}
    owner.stop()
    await asyncio.wait_for(task, 0.5)
    assert not owner.lost  # its claim is released, not abandoned


async def test_disabling_gives_up_on_orders_the_key_can_no_longer_cancel() -> None:
    w = World()
    owner = w.owner()
    task = await run_until(owner, "online", owner.opened.is_set)
    owner.offer_tick(PAIR, Decimal(100))
    for _ in range(100):
        if len(w.connector.requests) >= 3:
            break
        await asyncio.sleep(0.01)
    refused = OrderReply(request_id="x", ok=False, error=OrderError(code="invalid_key"))
    w.connector.script = [refused, refused]
    owner.notify(ConnectionChanged("deleted"))
    await asyncio.wait_for(task, 2)  # finished: disabled
    assert owner.state is not None and owner.state.status is Status.DISABLED
    assert len(owner.state.abandoned_orders) == 2
    assert [r.action for r in w.connector.requests[3:]] == ["cancel", "cancel"]
    assert (subjects.STRATEGY_DISABLED, "connection_deleted") in [
        (s, getattr(m, "reason", None)) for s, m in w.events.published]
