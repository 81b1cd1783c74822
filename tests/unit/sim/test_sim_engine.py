"""The order engine: fills, fees, locks, client-id dedup, futures positions and PnL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bf_sim.clock import ManualClock
from bf_sim.engine.orders import Engine, EngineError, Fees, OrderRequest, Reason
from bf_sim.engine.prices import PricePaths
from bf_sim.markets import ASSET_BY_CODE
from bf_sim.state import Account

D = Decimal
BTC = ASSET_BY_CODE["BTC"]


def make() -> tuple[Engine, PricePaths, Account]:
    prices = PricePaths(1)
    prices.script("BTC", [D("100")])
    engine = Engine(
        prices,
        ManualClock(0),
        spot_fees=Fees(D("0.001"), D("0.002")),
        futures_fees=Fees(D("0"), D("0.001")),
        contract_size=lambda a: D("0.01"),
        futures_tick=lambda a: D("0.1"),
        id_format=str,
    )
    account = Account("acc", spot={"USDT": D("1000"), "BTC": D("1")}, futures={"USDT": D("1000")})
    return engine, prices, account


def spot(side: str, **kw: object) -> OrderRequest:
    fields: dict[str, object] = {"kind": "spot", "asset": BTC, "side": side, "type": "limit"} | kw
    return OrderRequest(**fields)  # type: ignore[arg-type]


def test_market_buy_fills_at_the_ask_and_charges_the_taker_fee_in_quote() -> None:
    engine, _, account = make()
    order = engine.place(account, spot("buy", type="market", qty=D("2")))
    assert order.status == "filled" and order.fills[0].price == D("100.01")
    assert account.spot["BTC"] == D("3")
    assert account.spot["USDT"] == D("1000") - D("200.02") - D("200.02") * D("0.002")


def test_resting_limit_locks_funds_and_fills_as_maker_when_the_price_reaches_it() -> None:
    engine, prices, account = make()
    order = engine.place(account, spot("buy", qty=D("1"), price=D("95")))
    assert order.is_open and account.spot_locked["USDT"] == D("95") * D("1.002")
    prices.script("BTC", [D("96"), D("94")])
    assert engine.match({"acc": account}) == []
    prices.advance()
    assert engine.match({"acc": account}) == [order]
    assert order.status == "filled" and order.fills[0].maker and order.fills[0].price == D("95")
    assert account.spot_locked["USDT"] == 0
    assert account.spot["USDT"] == D("1000") - D("95") - D("0.095")


def test_cancel_releases_the_lock_and_a_done_order_cannot_be_cancelled() -> None:
    engine, _, account = make()
    order = engine.place(account, spot("sell", qty=D("0.5"), price=D("150")))
    assert account.free("spot", "BTC") == D("0.5")
    engine.cancel(account, order)
    assert account.free("spot", "BTC") == D("1") and order.status == "canceled"
    with pytest.raises(EngineError) as exc:
        engine.cancel(account, order)
    assert exc.value.reason is Reason.NOT_OPEN


def test_a_client_order_id_is_used_once_and_never_creates_a_second_order() -> None:
    engine, _, account = make()
    engine.place(account, spot("buy", qty=D("1"), price=D("50"), client_id="run-1-leg-1"))
    with pytest.raises(EngineError) as exc:
        engine.place(account, spot("buy", qty=D("1"), price=D("50"), client_id="run-1-leg-1"))
    assert exc.value.reason is Reason.DUPLICATE_CLIENT_ID
    assert len(engine.orders) == 1
    other = Account("other", spot={"USDT": D("1000")})
    engine.place(other, spot("buy", qty=D("1"), price=D("50"), client_id="run-1-leg-1"))  # per account


def test_insufficient_balance_and_post_only_are_refused() -> None:
    engine, _, account = make()
    with pytest.raises(EngineError) as exc:
        engine.place(account, spot("buy", type="market", qty=D("20")))
    assert exc.value.reason is Reason.INSUFFICIENT_BALANCE
    with pytest.raises(EngineError) as exc:
        engine.place(account, spot("buy", qty=D("1"), price=D("101"), tif="POST_ONLY"))
    assert exc.value.reason is Reason.WOULD_TAKE
    cancelled = engine.place(account, spot("buy", qty=D("1"), price=D("101"), tif="POST_ONLY"), post_only_rejects=False)
    assert cancelled.status == "canceled" and not cancelled.fills


def test_market_buy_by_funds_rounds_the_quantity_down() -> None:
    engine, _, account = make()
    order = engine.place(account, spot("buy", type="market", funds=D("50")))
    assert order.filled_qty == D("0.499950")  # 50 / 100.01, 6 decimals, truncated


def futures(side: str, qty: str, **kw: object) -> OrderRequest:
    fields: dict[str, object] = {
        "kind": "futures",
        "asset": BTC,
        "side": side,
        "type": "market",
        "qty": D(qty),
        "leverage": 10,
    } | kw
    return OrderRequest(**fields)  # type: ignore[arg-type]


def test_futures_position_margin_and_realised_pnl() -> None:
    engine, prices, account = make()
    engine.place(account, futures("buy", "100"))  # 100 contracts x 0.01 BTC at 100.1
    position = engine.position(account, BTC)
    assert position is not None and position.qty == D("100") and position.entry_price == D("100.1")
    summary = engine.futures_summary(account)
    assert summary["position_margin"] == D("100.1") / 10
    prices.script("BTC", [D("110")])
    assert engine.unrealised(position) == (D("110") - D("100.1")) * D("1")
    engine.place(account, futures("sell", "100", reduce_only=True))  # closes at the bid 109.9
    assert engine.position(account, BTC) is None
    fees = D("100.1") * D("0.001") + D("109.9") * D("0.001")
    assert account.futures["USDT"] == D("1000") + (D("109.9") - D("100.1")) - fees


def test_reduce_only_without_a_position_and_too_much_leverage_are_refused() -> None:
    engine, _, account = make()
    with pytest.raises(EngineError) as exc:
        engine.place(account, futures("sell", "1", reduce_only=True))
    assert exc.value.reason is Reason.NO_POSITION
    with pytest.raises(EngineError) as exc:
        engine.place(account, futures("buy", "1", leverage=500))
    assert exc.value.reason is Reason.BAD_LEVERAGE
    with pytest.raises(EngineError) as exc:
        engine.place(account, futures("buy", "100000", leverage=1))
    assert exc.value.reason is Reason.INSUFFICIENT_BALANCE
