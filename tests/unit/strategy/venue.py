"""A hand-written in-memory exchange for domain tests, and a driver that runs the engine on it.

The venue fills a marketable order at the current price and a resting limit order at its
own price when the market crosses it; it de-duplicates on client order id like the real
exchanges do. Every state change of the strategy goes through ``persist``, so tests can
check invariants after each step and simulate a crash by dropping in-flight commands.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from bf_shared.strategy import StrategyParams
from bf_shared.strategy_messages import MarketRules

from bf_runner.domain import engine
from bf_runner.domain.commands import Cancel, Command, Fill, OrderFailed, Place, Query
from bf_runner.domain.model import StrategyState


def rules(symbol: str = "BTC/USDT", **kw: Decimal) -> MarketRules:
    """Spot rules with small steps (override any field)."""
    base, quote = symbol.split("/")
    values: dict[str, object] = {
        "symbol": symbol, "pair": symbol, "base": base, "quote": quote, "market": "spot",
        "amount_step": Decimal("0.0001"), "price_step": Decimal("0.01"),
        "min_amount": Decimal("0.0001"), "min_cost": Decimal("1"),
    }
    values.update(kw)
    return MarketRules.model_validate(values)


@dataclass
class VenueOrder:
    cid: str
    symbol: str
    side: str
    type: str
    price: Decimal
    amount: Decimal
    filled: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    fee_quote: Decimal = Decimal(0)
    fee_base: Decimal = Decimal(0)
    status: str = "open"


@dataclass
class PaperVenue:
    """Fills orders against the prices it is told; fees charged in quote (or base, on buys)."""

    fee_rate: Decimal = Decimal("0.001")
    fee_in_base: bool = False
    #: Fraction of a crossing limit order filled per price update (1 = all at once).
    fill_ratio: Decimal = Decimal(1)
    prices: dict[str, Decimal] = field(default_factory=dict)
    orders: dict[str, VenueOrder] = field(default_factory=dict)
    log: list[tuple[str, ...]] = field(default_factory=list)
    place_calls: int = 0

    def set_price(self, symbol: str, price: Decimal) -> None:
        """Move the market; resting limit orders the price crosses fill at their own price."""
        self.prices[symbol] = price
        for o in self.orders.values():
            if o.symbol != symbol or o.status != "open" or o.type != "limit":
                continue
            if (o.side == "buy" and price <= o.price) or (o.side == "sell" and price >= o.price):
                self._fill(o, o.price, self.fill_ratio)

    def _fill(self, o: VenueOrder, price: Decimal, ratio: Decimal) -> None:
        remaining = o.amount - o.filled
        amount = remaining if ratio >= 1 else max(Decimal("0.0001"), (remaining * ratio).quantize(Decimal("0.0001")))
        amount = min(amount, remaining)
        value = amount * price
        o.filled += amount
        o.cost += value
        if self.fee_in_base and o.side == "buy":
            o.fee_base += amount * self.fee_rate
        else:
            o.fee_quote += value * self.fee_rate
        if o.filled >= o.amount:
            o.status = "closed"

    def _view(self, o: VenueOrder) -> Fill:
        return Fill(o.cid, o.status, o.filled, o.cost, o.fee_quote, o.fee_base)  # type: ignore[arg-type]

    def execute(self, cmd: Command) -> Fill | OrderFailed:
        """Do what the connector would do for one command."""
        if isinstance(cmd, Place):
            self.place_calls += 1
            existing = self.orders.get(cmd.order.client_order_id)
            if existing is not None:
                return self._view(existing)  # duplicate client id: the existing order
            o = cmd.order
            vo = VenueOrder(o.client_order_id, cmd.pair, o.side, o.type, o.price, o.amount)
            self.orders[vo.cid] = vo
            self.log.append(("place", o.kind.value, o.side, o.type, str(o.price), str(o.amount)))
            market = self.prices[cmd.pair]
            if o.type == "market":
                self._fill(vo, market, Decimal(1))
            elif (o.side == "buy" and o.price >= market) or (o.side == "sell" and o.price <= market):
                self._fill(vo, market, Decimal(1))  # marketable limit: fills now at the market
            return self._view(vo)
        if isinstance(cmd, Cancel):
            vo = self.orders.get(cmd.client_order_id)
            if vo is None:
                return OrderFailed(cmd.client_order_id, "order_not_found")
            if vo.status == "open":
                vo.status = "canceled"
                kind = "cancel"
                self.log.append((kind, cmd.client_order_id))
            return self._view(vo)
        assert isinstance(cmd, Query)
        vo = self.orders.get(cmd.client_order_id)
        if vo is None:
            return OrderFailed(cmd.client_order_id, "order_not_found")
        return self._view(vo)

    def open_orders(self, symbol: str) -> list[VenueOrder]:
        """Orders resting on the book."""
        return [o for o in self.orders.values() if o.symbol == symbol and o.status == "open"]


Check = Callable[[StrategyState], None]


@dataclass
class Driver:
    """Runs the engine against a venue the way the runner does: persist, then execute."""

    state: StrategyState
    venue: PaperVenue
    check: Check = lambda s: None
    now_ms: int = 0
    persisted: StrategyState | None = None

    def persist(self, state: StrategyState) -> None:
        self.check(state)
        self.state = state
        self.persisted = state

    def drain(self, cmds: list[Command], crash_after: int | None = None) -> bool:
        """Execute commands and feed the replies back; stop after ``crash_after`` replies (crash)."""
        queue: deque[Command] = deque(cmds)
        done = 0
        while queue:
            if crash_after is not None and done >= crash_after:
                return False
            result = self.venue.execute(queue.popleft())
            done += 1
            if isinstance(result, OrderFailed):
                state, more = engine.on_failed(self.state, result)
            else:
                state, more = engine.on_fill(self.state, result, self.now_ms)
            self.persist(state)
            queue.extend(more)
        return True

    def start(self) -> None:
        state, cmds = engine.start(self.state, self.now_ms)
        self.persist(state)
        self.drain(cmds)

    def tick(self, symbol: str, price: Decimal | int | str, crash_after: int | None = None) -> bool:
        """Move the market and let the strategy react."""
        self.now_ms += 5_000
        p = Decimal(str(price))
        self.venue.set_price(symbol, p)
        state, cmds = engine.on_tick(self.state, symbol, p, self.now_ms)
        self.persist(state)
        return self.drain(cmds, crash_after)

    def walk(self, symbol: str, prices: list[Decimal | int | str]) -> None:
        for price in prices:
            self.tick(symbol, price)


def make_driver(params: StrategyParams, venue: PaperVenue | None = None, check: Check = lambda s: None,
                market_rules: dict[str, MarketRules] | None = None) -> Driver:
    """A started strategy on a fresh venue."""
    all_rules = market_rules or {p: rules(p) for p in params.pairs}
    state = engine.new_state("strat-1", 1, params, all_rules, {p: p for p in params.pairs})
    driver = Driver(state=state, venue=venue or PaperVenue(), check=check)
    driver.start()
    return driver
