"""Properties of the strategy engine over random parameters, price paths, fills and crashes.

* the margin limit is never exceeded, after any event;
* the venue never holds two live buys or two live sells of one pair (no duplicate orders),
  even when the runner crashes mid-way and another owner continues from the persisted state;
* the watch band is exact: a price inside it changes nothing.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bf_shared.strategy import StrategyParams

from bf_runner.domain import engine
from bf_runner.domain.model import StrategyState

from .venue import Driver, PaperVenue, make_driver

PAIRS = ["BTC/USDT", "ETH/USDT"]
START = {"BTC/USDT": D(100), "ETH/USDT": D(10)}

money = st.decimals(min_value=D(5), max_value=D(200), places=2)


@st.composite
def strategy_params(draw: st.DrawFn) -> StrategyParams:
    base = draw(money)
    values: dict[str, Any] = dict(
        name="prop", pairs=draw(st.sampled_from([PAIRS[:1], PAIRS])), market="spot", risk_level="moderate",
        base_order_quote=base,
        margin_limit_quote=base + draw(st.decimals(min_value=D(0), max_value=D(3000), places=2)),
        reinforcement=dict(
            max_adds=draw(st.integers(0, 8)),
            step_pct=draw(st.decimals(min_value=D("0.3"), max_value=D(8), places=1)),
            size_multiplier=draw(st.decimals(min_value=D("0.5"), max_value=D(3), places=1)),
            step_multiplier=draw(st.decimals(min_value=D("0.8"), max_value=D(2), places=1)),
        ),
        take_profit_pct=draw(st.decimals(min_value=D("0.2"), max_value=D(5), places=1)),
        recovery_mode=dict(
            enabled=draw(st.booleans()),
            trigger_drawdown_pct=draw(st.decimals(min_value=D(2), max_value=D(30), places=0)),
            exit=draw(st.sampled_from(["breakeven", "take_profit"])),
            partial_close_pct=draw(st.sampled_from([D(0), D(25), D(50), D(90)])),
            max_partial_closes=draw(st.integers(0, 4)),
        ),
        stop_conditions=dict(stop_loss_pct=draw(st.sampled_from([None, D(20), D(40)]))),
        max_slippage_pct=draw(st.sampled_from([D("0.1"), D("0.5"), D(2)])),
    )
    return StrategyParams.model_validate(values)


@st.composite
def price_paths(draw: st.DrawFn) -> list[tuple[str, D]]:
    """Interleaved multiplicative random walks of both pairs, moves of up to +-6 %."""
    prices = dict(START)
    path: list[tuple[str, D]] = []
    for _ in range(draw(st.integers(10, 70))):
        pair = draw(st.sampled_from(PAIRS))
        move = draw(st.integers(-60, 60))
        prices[pair] = max(D("0.5"), (prices[pair] * (1 + D(move) / 1000)).quantize(D("0.01")))
        path.append((pair, prices[pair]))
    return path


def venue_check(venue: PaperVenue, state: StrategyState) -> None:
    assert engine.exposure(state) <= state.params.margin_limit_quote
    for pair in PAIRS:
        live = venue.open_orders(pair)
        assert sum(1 for o in live if o.side == "buy") <= 1, live
        assert sum(1 for o in live if o.side == "sell") <= 1, live


def build(params: StrategyParams, fee_in_base: bool, fill_ratio: D) -> Driver:
    venue = PaperVenue(fee_in_base=fee_in_base, fill_ratio=fill_ratio)
    for pair, price in START.items():
        venue.prices[pair] = price
    driver = make_driver(params, venue=venue)
    driver.check = lambda s: venue_check(venue, s)
    return driver


COMMON = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(params=strategy_params(), path=price_paths(), fee_in_base=st.booleans(),
       fill_ratio=st.sampled_from([D(1), D("0.5"), D("0.3")]))
def test_margin_limit_is_never_exceeded(params: StrategyParams, path: list[tuple[str, D]],
                                        fee_in_base: bool, fill_ratio: D) -> None:
    driver = build(params, fee_in_base, fill_ratio)
    for pair, price in path:
        driver.tick(pair, price)  # the check runs after every persisted state
    # what the venue actually charged for buys still open in the engine never exceeds the limit
    assert engine.exposure(driver.state) <= params.margin_limit_quote


@COMMON
@given(params=strategy_params(), path=price_paths(), crashes=st.lists(st.integers(0, 3), min_size=1, max_size=8),
       fill_ratio=st.sampled_from([D(1), D("0.5")]))
def test_crash_and_takeover_never_duplicates_an_order(params: StrategyParams, path: list[tuple[str, D]],
                                                      crashes: list[int], fill_ratio: D) -> None:
    driver = build(params, False, fill_ratio)
    for i, (pair, price) in enumerate(path):
        crash_after = crashes[i % len(crashes)] if i % 3 == 0 else None
        completed = driver.tick(pair, price, crash_after=crash_after)
        if not completed:
            # the runner died with commands in flight; a new owner loads the persisted state
            assert driver.persisted is not None
            successor = Driver(state=driver.persisted, venue=driver.venue, check=driver.check, now_ms=driver.now_ms)
            successor.start()
            driver = successor
    # every client order id the engine ever sent maps to exactly one order on the venue
    assert len({o.cid for o in driver.venue.orders.values()}) == len(driver.venue.orders)


@COMMON
@given(params=strategy_params(), path=price_paths())
def test_prices_inside_the_watch_band_change_nothing(params: StrategyParams, path: list[tuple[str, D]]) -> None:
    driver = build(params, False, D(1))
    for pair, price in path:
        lo, hi = engine.band(driver.state, pair)
        driver.venue.set_price(pair, price)
        if lo < price < hi:
            state, cmds = engine.on_tick(driver.state, pair, price, driver.now_ms + 5_000)
            assert state is driver.state and cmds == []
        driver.tick(pair, price)
