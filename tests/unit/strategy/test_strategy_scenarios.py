"""Scripted price paths -> the exact order sequence (pure domain, in-memory venue).

Parameters: base order 20 USDT, adds of 40/80/160 USDT (size multiplier 2) at 2/4/6 %
below the base fill (step 2 %, step multiplier 1), take profit 1 %, slippage 0.5 %,
Recovery Mode at 10 % drawdown with a break-even exit and 25 % partial closes; fees 0.1 %
in quote. Amount step 0.0001, price step 0.01. Expected prices/amounts are worked out by
hand in the comments.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from bf_shared.strategy import StrategyParams

from bf_runner.domain import engine
from bf_runner.domain.commands import Cancel, OrderFailed, Place
from bf_runner.domain.model import IllegalTransition, OrderKind, Phase, Status

from .venue import PaperVenue, make_driver

PAIR = "BTC/USDT"


def params(**over: Any) -> StrategyParams:
    values: dict[str, Any] = dict(
        name="t", pairs=[PAIR], market="spot", risk_level="moderate",
        base_order_quote=20, margin_limit_quote=1000,
        reinforcement=dict(max_adds=3, step_pct=2, size_multiplier=2, step_multiplier=1),
        take_profit_pct=1,
        recovery_mode=dict(enabled=True, trigger_drawdown_pct=10, exit="breakeven", partial_close_pct=25),
    )
    values.update(over)
    return StrategyParams.model_validate(values)


def placed(venue: PaperVenue) -> list[tuple[str, ...]]:
    return [entry[1:] for entry in venue.log if entry[0] == "place"]


def actions(venue: PaperVenue) -> list[str]:
    return [entry[0] if entry[0] == "cancel" else f"place {entry[1]}" for entry in venue.log]


# Ladder from a base fill at 100: add1 98.00 x floor(40/98)=0.4081, add2 96.00 x 0.8333,
# add3 94.00 x floor(160/94)=1.7021.
BASE = ("base", "buy", "limit", "100.50", "0.1990")  # ceil(100 x 1.005); floor(20 / 100.50)
TP1 = ("tp", "sell", "limit", "101.00", "0.1990")
ADD1 = ("add", "buy", "limit", "98.00", "0.4081")
ADD2 = ("add", "buy", "limit", "96.00", "0.8333")
ADD3 = ("add", "buy", "limit", "94.00", "1.7021")
# qty 0.6071, cost 19.90 + 39.9938 = 59.8938, avg 98.6555 -> x1.01 = 99.6421 -> 99.65
TP2 = ("tp", "sell", "limit", "99.65", "0.6071")
# qty 1.4404, cost 139.8906, avg 97.1193 -> 98.0905 -> 98.10
TP3 = ("tp", "sell", "limit", "98.10", "1.4404")
# qty 3.1425, cost 299.8880, avg 95.4297 -> 96.3840 -> 96.39
TP4 = ("tp", "sell", "limit", "96.39", "3.1425")


def test_straight_up_takes_profit_and_starts_the_next_cycle() -> None:
    d = make_driver(params())
    d.walk(PAIR, [100, "100.5", 101, "101.2"])
    assert placed(d.venue) == [
        BASE, TP1, ADD1,
        # cycle 2 from 101.2: ceil(101.706)=101.71, floor(20/101.71)=0.1966; tp ceil(102.212);
        # add1 floor(99.176)=99.17 x floor(40/99.17)=0.4033
        ("base", "buy", "limit", "101.71", "0.1966"),
        ("tp", "sell", "limit", "102.22", "0.1966"),
        ("add", "buy", "limit", "99.17", "0.4033"),
    ]
    assert actions(d.venue) == ["place base", "place tp", "place add", "cancel",
                                "place base", "place tp", "place add"]
    deal = d.state.deals[0]
    assert (deal.cycle, deal.cycles_done, deal.phase) == (2, 1, Phase.IN_POSITION)
    # 0.1990 x (101 - 100) minus 0.1 % fees on both sides
    assert deal.realized_pnl == D("0.1990") * 1 - D("0.0199") - D("0.020099")


def test_down_through_every_reinforcement_then_back_up_to_take_profit() -> None:
    d = make_driver(params())
    d.walk(PAIR, [100, 98, 96, 94, "96.5"])
    assert placed(d.venue) == [BASE, TP1, ADD1, ADD2, TP2, ADD3, TP3, TP4]
    # each add fill re-prices the exit: cancel the old take profit, then place the new one
    assert actions(d.venue) == ["place base", "place tp", "place add",
                                "cancel", "place add", "place tp",
                                "cancel", "place add", "place tp",
                                "cancel", "place tp"]
    deal = d.state.deals[0]
    assert deal.phase is Phase.IDLE and deal.cycles_done == 1 and deal.adds_done == 0
    assert d.venue.open_orders(PAIR) == []
    assert deal.realized_pnl > 0


def test_crash_past_the_last_reinforcement_enters_recovery_mode() -> None:
    d = make_driver(params())
    d.walk(PAIR, [100, 98, 96, 94, 90])
    assert d.state.deals[0].phase is Phase.IN_POSITION  # avg 95.43: trigger at 85.89 not reached
    d.tick(PAIR, 85)
    deal = d.state.deals[0]
    assert deal.phase is Phase.RECOVERY
    # 25 % of 3.1425 = 0.7856 sold at the market; the exit drops from 96.39 to break-even plus
    # fees on what is left: (224.9197 cost + 0.2249 fees) / (2.3569 x 0.999) = 95.62 -> 95.63
    assert placed(d.venue)[-2:] == [
        ("partial", "sell", "market", "95.42", "0.7856"),
        ("tp", "sell", "limit", "95.63", "2.3569"),
    ]
    assert actions(d.venue)[-3:] == ["cancel", "place partial", "place tp"]
    assert deal.partial_closes == 1 and deal.last_partial_price == D(85)
    # another 10 % below the last partial close (76.5) sells another quarter
    d.walk(PAIR, [80, 77])
    assert d.state.deals[0].partial_closes == 1
    d.tick(PAIR, 76)
    assert placed(d.venue)[-2:] == [
        ("partial", "sell", "market", "95.42", "0.5892"),  # floor(2.3569 x 0.25)
        ("tp", "sell", "limit", "95.63", "1.7677"),
    ]
    # the rebound reaches the lowered exit: the cycle closes well below the original target
    d.walk(PAIR, [90, "95.7"])
    deal = d.state.deals[0]
    assert deal.phase is Phase.IDLE and deal.cycles_done == 1
    assert d.venue.open_orders(PAIR) == []


def test_recovery_take_profit_exit_keeps_the_target_and_only_closes_parts() -> None:
    d = make_driver(params(recovery_mode=dict(enabled=True, trigger_drawdown_pct=10, exit="take_profit",
                                              partial_close_pct=50, max_partial_closes=1)))
    d.walk(PAIR, [100, 98, 96, 94, 85, 70])
    deal = d.state.deals[0]
    assert deal.phase is Phase.RECOVERY and deal.partial_closes == 1
    tp = [o for o in deal.orders if o.kind is OrderKind.TP][0]
    assert tp.price == D("96.39")  # avg unchanged by a proportional partial close
    assert tp.amount == D("3.1425") - D("1.5712")


def test_recovery_disabled_holds_the_position() -> None:
    d = make_driver(params(recovery_mode=dict(enabled=False, trigger_drawdown_pct=10, exit="breakeven",
                                              partial_close_pct=25)))
    d.walk(PAIR, [100, 98, 96, 94, 70])
    assert d.state.deals[0].phase is Phase.IN_POSITION
    assert placed(d.venue)[-1] == TP4


def test_margin_limit_shrinks_and_then_skips_reinforcements() -> None:
    # base + add1 + add2 cost 19.90 + 39.9938 + 79.9968 = 139.8906: the third add (160)
    # gets only what is left, 60.1094
    d = make_driver(params(margin_limit_quote=200))
    d.walk(PAIR, [100, 98, 96])
    assert placed(d.venue)[-2][:4] == ("add", "buy", "limit", "94.00")
    assert placed(d.venue)[-2][4] == "0.6394"  # floor(60.1094 / 94, 0.0001)
    d.tick(PAIR, 94)
    assert engine.exposure(d.state) <= D(200)
    # now exhausted: a deep fall goes to Recovery Mode rather than buying more
    d.tick(PAIR, 80)
    assert d.state.deals[0].phase is Phase.RECOVERY


def test_margin_limit_is_shared_between_pairs() -> None:
    p = params(pairs=[PAIR, "ETH/USDT"], margin_limit_quote=50,
               reinforcement=dict(max_adds=0, step_pct=2, size_multiplier=2, step_multiplier=1))
    d = make_driver(p)
    d.tick(PAIR, 100)
    d.tick("ETH/USDT", 10)
    # 19.90 spent on BTC leaves 30.10: ETH's base order still fits, a third would not
    assert len(d.venue.orders) == 4  # two base orders and two take profits
    assert engine.exposure(d.state) <= D(50)


def test_stop_loss_sells_the_position_and_stops_the_strategy() -> None:
    d = make_driver(params(stop_conditions=dict(stop_loss_pct=15)))
    d.walk(PAIR, [100, 98, 96, 94])
    d.tick(PAIR, 81)  # avg 95.43 x 0.85 = 81.11
    assert placed(d.venue)[-1] == ("stop", "sell", "market", "95.42", "3.1425")
    assert d.state.deals[0].phase is Phase.STOPPED
    # the only pair stopped: the strategy disables itself, nothing left open
    assert d.state.status is Status.DISABLED
    assert "stop_loss" in (d.state.reason or "")
    assert d.venue.open_orders(PAIR) == []


def test_max_cycles_stops_the_pair_after_its_last_cycle() -> None:
    d = make_driver(params(stop_conditions=dict(max_cycles=1)))
    d.walk(PAIR, [100, 101, 102])
    assert [entry[0] for entry in placed(d.venue)] == ["base", "tp", "add"]
    assert d.state.deals[0].phase is Phase.STOPPED
    assert d.state.status is Status.DISABLED


def test_max_loss_disables_the_strategy_and_cancels_orders() -> None:
    d = make_driver(params(stop_conditions=dict(max_loss_quote=5)))
    d.walk(PAIR, [100, 98, 96, 94, 85])  # the first partial close loses ~8 USDT
    assert d.state.status is Status.DISABLED
    assert d.venue.open_orders(PAIR) == []
    assert d.state.deals[0].qty > 0  # positions stay with the user


def test_pause_places_nothing_and_resume_catches_up_on_fills() -> None:
    d = make_driver(params())
    d.tick(PAIR, 100)
    state, cmds = engine.pause(d.state, "connection_offline")
    assert cmds == [] and state.status is Status.PAUSED
    d.persist(state)
    n = len(d.venue.log)
    d.walk(PAIR, [97, 98])  # add1 fills on the exchange meanwhile; the runner does nothing
    assert len(d.venue.log) == n and d.state.deals[0].adds_done == 0
    state, cmds = engine.resume(d.state, "connection_offline", d.now_ms)
    d.persist(state)
    d.drain(cmds)
    assert d.state.status is Status.RUNNING
    assert d.state.deals[0].adds_done == 1  # learned from the query on resume
    assert placed(d.venue)[-2:] == [ADD2, TP2]


def test_two_pause_reasons_need_two_resumes() -> None:
    d = make_driver(params())
    s, _ = engine.pause(d.state, "connection_offline")
    s, _ = engine.pause(s, "user")
    s, _ = engine.resume(s, "connection_offline", 0)
    assert s.status is Status.PAUSED and s.paused_by == ("user",)
    s, _ = engine.resume(s, "user", 0)
    assert s.status is Status.RUNNING


def test_disable_cancels_every_open_order() -> None:
    d = make_driver(params(pairs=[PAIR, "ETH/USDT"]))
    d.tick(PAIR, 100)
    d.tick("ETH/USDT", 10)
    assert len(d.venue.open_orders(PAIR)) == 2 and len(d.venue.open_orders("ETH/USDT")) == 2
    state, cmds = engine.disable(d.state, "user")
    assert state.status is Status.DISABLING and all(isinstance(c, Cancel) for c in cmds) and len(cmds) == 4
    d.persist(state)
    d.drain(cmds)
    assert d.state.status is Status.DISABLED
    assert d.venue.open_orders(PAIR) == [] and d.venue.open_orders("ETH/USDT") == []
    # a disabled strategy ignores the market
    assert engine.on_tick(d.state, PAIR, D(50), d.now_ms) == (d.state, [])


def test_disable_gives_up_on_orders_that_cannot_be_cancelled() -> None:
    d = make_driver(params())
    d.tick(PAIR, 100)
    state, cmds = engine.disable(d.state, "connection_deleted")
    for cmd in cmds:
        state, _ = engine.on_failed(state, OrderFailed(cmd.client_order_id, "invalid_key"))
    assert state.status is Status.DISABLED and len(state.abandoned_orders) == 2


def test_refused_order_fails_the_strategy_with_the_reason() -> None:
    d = make_driver(params())
    state, cmds = engine.on_tick(d.state, PAIR, D(100), 1)
    assert isinstance(cmds[0], Place)
    state, more = engine.on_failed(state, OrderFailed(cmds[0].order.client_order_id, "insufficient_funds", "balance"))
    assert more == [] and state.status is Status.FAILED
    assert state.error is not None and state.error.code == "insufficient_funds"
    assert state.deals[0].phase is Phase.IDLE


def test_new_take_profit_applies_to_the_open_position() -> None:
    d = make_driver(params())
    d.tick(PAIR, 100)
    state, cmds = engine.update_params(d.state, 2, params(take_profit_pct=2), d.now_ms)
    d.persist(state)
    d.drain(cmds)
    assert placed(d.venue)[-1] == ("tp", "sell", "limit", "102.00", "0.1990")
    assert len(d.venue.open_orders(PAIR)) == 2
    # an older spec version is ignored
    assert engine.update_params(d.state, 1, params(take_profit_pct=5), d.now_ms) == (d.state, [])


def test_runaway_market_replaces_an_unfilled_base_order() -> None:
    venue = PaperVenue()
    d = make_driver(params(), venue=venue)
    venue.prices[PAIR] = D(100)
    # the base order reaches the exchange only after the market jumped (it rests, unfilled)
    state, cmds = engine.on_tick(d.state, PAIR, D(100), 1)
    d.persist(state)
    venue.prices[PAIR] = D(103)
    d.drain(cmds)
    assert d.state.deals[0].phase is Phase.ENTERING
    d.tick(PAIR, 103)  # >= 100.50 x 1.005: cancel, go back to idle
    assert d.state.deals[0].phase is Phase.IDLE
    d.tick(PAIR, 103)
    assert placed(venue)[-3] == ("base", "buy", "limit", "103.52", "0.1931")
    assert d.state.deals[0].phase is Phase.IN_POSITION


def test_illegal_transitions_are_rejected() -> None:
    with pytest.raises(IllegalTransition):
        Phase.IDLE.check(Phase.RECOVERY)
    with pytest.raises(IllegalTransition):
        Status.DISABLED.check(Status.RUNNING)
    assert Status.RUNNING.check(Status.PAUSED) is Status.PAUSED
    assert Status.DISABLING.public == "disabled"
