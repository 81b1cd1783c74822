"""Trading through unmodified ccxt: orders, fills on scripted prices, fees, dedup, positions."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest


async def test_mexc_spot_limit_order_fills_when_the_scripted_price_reaches_it(
    client: Any, admin: Any, demo_key: Any
) -> None:
    mexc = admin("mexc")
    key = demo_key("mexc-trade-ip")
    ex = client("mexc", "mexc-trade-ip")
    await ex.load_markets()
    status, _ = await mexc.call("PUT", "/__sim/prices/BTCUSDT", {"prices": [65000, 64000, 59000, 61000]})
    assert status == 200
    assert (await ex.fetch_ticker("BTC/USDT"))["last"] == 65000
    order = await ex.create_order("BTC/USDT", "limit", "buy", 0.01, 60000, {"clientOrderId": "strategy-1-leg-1"})
    before = await ex.fetch_balance()
    assert before["USDT"]["used"] == pytest.approx(600 * 1.0005)
    assert (await ex.fetch_open_orders("BTC/USDT"))[0]["id"] == order["id"]
    _, body = await mexc.call("POST", "/__sim/advance", {"steps": 1})
    assert body["filled"] == 0
    _, body = await mexc.call("POST", "/__sim/advance", {"steps": 1})
    assert body["filled"] == 1 and body["prices"]["BTC"] == "59000"
    fetched = await ex.fetch_order(order["id"], "BTC/USDT")
    assert (
        fetched["status"] == "closed" and fetched["filled"] == 0.01 and fetched["clientOrderId"] == "strategy-1-leg-1"
    )
    after = await ex.fetch_balance()
    assert after["BTC"]["total"] == pytest.approx(0.26)
    assert after["USDT"]["total"] == pytest.approx(10000 - 600)  # maker fee on MEXC spot is 0
    trades = await ex.fetch_my_trades("BTC/USDT")
    assert len(trades) == 1 and trades[0]["takerOrMaker"] == "maker" and trades[0]["price"] == 60000
    _, listed = await mexc.call("GET", f"/__sim/orders?api_key={key.api_key}")
    assert listed["count"] == 1 and listed["orders"][0]["status"] == "filled"


async def test_mexc_market_order_pays_the_taker_fee(client: Any) -> None:
    ex = client("mexc", "mexc-trade-ip")
    await ex.load_markets()
    await ex.create_order("ETH/USDT", "market", "sell", 1)
    balance = await ex.fetch_balance()
    assert balance["ETH"]["total"] == pytest.approx(2)
    assert balance["USDT"]["total"] == pytest.approx(10000 + 3199.99 * (1 - 0.0005))


@pytest.mark.parametrize(
    ("exchange_id", "label", "symbol", "amount", "code"),
    [
        ("mexc", "mexc-trade-ip", "BTC/USDT", 0.001, "-2010"),
        ("mexc", "mexc-trade-ip", "BTC/USDT:USDT", 1, "603"),
        ("kucoin", "kucoin-trade-ip", "BTC/USDT", 0.001, "126044"),
        ("kucoinfutures", "kucoin-trade-ip", "BTC/USDT:USDT", 1, "400100"),
    ],
)
async def test_a_repeated_client_order_id_is_refused_and_never_places_a_second_order(
    client: Any, admin: Any, code_of: Any, exchange_id: str, label: str, symbol: str, amount: float, code: str
) -> None:
    ex = client(exchange_id, label)
    await ex.load_markets()
    params = {"clientOrderId": "retry-safe-0001", "leverage": 5}
    await ex.create_order(symbol, "limit", "buy", amount, 50000, params)
    with pytest.raises(ccxt.ExchangeError) as exc:
        await ex.create_order(symbol, "limit", "buy", amount, 50000, params)
    assert code_of(exc.value) == code
    _, listed = await admin("mexc" if exchange_id == "mexc" else "kucoin").call("GET", "/__sim/orders")
    assert listed["count"] == 1


async def test_kucoin_spot_hf_cycle_and_fees(client: Any, admin: Any) -> None:
    ex = client("kucoin", "kucoin-trade-ip")
    await ex.load_markets()
    await admin("kucoin").call("PUT", "/__sim/prices/SOL-USDT", [150, 140])
    order = await ex.create_order("SOL/USDT", "limit", "buy", 1, 145)
    assert [o["id"] for o in await ex.fetch_open_orders("SOL/USDT")] == [order["id"]]
    await admin("kucoin").call("POST", "/__sim/advance", {})
    closed = await ex.fetch_closed_orders("SOL/USDT")
    assert closed[0]["id"] == order["id"] and closed[0]["filled"] == 1
    balance = await ex.fetch_balance()
    assert balance["SOL"]["total"] == pytest.approx(41)
    assert balance["USDT"]["total"] == pytest.approx(10000 - 145 * 1.001)
    trades = await ex.fetch_my_trades("SOL/USDT")
    assert trades[0]["fee"]["cost"] == pytest.approx(0.145)
    cancelled = await ex.create_order("SOL/USDT", "limit", "buy", 1, 100)
    await ex.cancel_order(cancelled["id"], "SOL/USDT")
    assert (await ex.fetch_order(cancelled["id"], "SOL/USDT"))["status"] == "canceled"


async def test_kucoin_futures_position_and_pnl(client: Any, admin: Any) -> None:
    ex = client("kucoinfutures", "kucoin-trade-ip")
    await ex.load_markets()
    await admin("kucoin").call("PUT", "/__sim/prices/XBTUSDTM", {"prices": [60000, 66000]})
    await ex.create_order("BTC/USDT:USDT", "market", "buy", 10, None, {"leverage": 10})  # 10 lots x 0.001 BTC
    positions = await ex.fetch_positions()
    assert positions[0]["contracts"] == 10 and positions[0]["side"] == "long"
    await admin("kucoin").call("POST", "/__sim/advance", {})
    assert (await ex.fetch_positions())[0]["unrealizedPnl"] == pytest.approx((66000 - 60000.1) * 0.01)
    await ex.create_order("BTC/USDT:USDT", "market", "sell", 10, None, {"reduceOnly": True})
    assert await ex.fetch_positions() == []
    balance = await ex.fetch_balance()
    fees = (60000.1 + 65999.9) * 0.01 * 0.0006
    assert balance["USDT"]["total"] == pytest.approx(5000 + (65999.9 - 60000.1) * 0.01 - fees)


async def test_mexc_swap_orders_and_positions(client: Any, admin: Any) -> None:
    ex = client("mexc", "mexc-trade-ip")
    await ex.load_markets()
    await ex.set_leverage(25, "BTC/USDT:USDT", {"openType": 2, "positionType": 1})
    resting = await ex.create_order("BTC/USDT:USDT", "limit", "sell", 5, 70000)
    assert (await ex.fetch_open_orders("BTC/USDT:USDT"))[0]["id"] == resting["id"]
    await ex.cancel_order(resting["id"], "BTC/USDT:USDT")
    await ex.create_order("BTC/USDT:USDT", "market", "sell", 100)
    [position] = await ex.fetch_positions()
    assert position["side"] == "short" and position["contracts"] == 100 and position["leverage"] == 25
    swap = await ex.fetch_balance({"type": "swap"})
    [usdt] = [row for row in swap["info"]["data"] if row["currency"] == "USDT"]
    assert usdt["positionMargin"] == pytest.approx(64999.9 * 0.0001 * 100 / 25)
    assert swap["USDT"]["free"] == pytest.approx(usdt["cashBalance"] - usdt["positionMargin"], abs=0.01)
    _, listed = await admin("mexc").call("GET", "/__sim/orders?market=futures")
    assert [o["status"] for o in listed["orders"]] == ["canceled", "filled"]


async def test_trading_needs_the_trade_permission(client: Any, code_of: Any) -> None:
    ex = client("kucoin", "kucoin-read-only")
    await ex.load_markets()
    with pytest.raises(ccxt.AuthenticationError) as exc:
        await ex.create_order("BTC/USDT", "limit", "buy", 0.001, 50000)
    assert code_of(exc.value) == "400007"
    assert await ex.fetch_open_orders("BTC/USDT") == []
    mexc = client("mexc", "mexc-no-futures")
    await mexc.load_markets()
    with pytest.raises(ccxt.PermissionDenied) as swap:
        await mexc.create_order("BTC/USDT:USDT", "market", "buy", 1)
    assert code_of(swap.value) == "704"


async def test_reset_clears_orders_and_restores_balances(client: Any, admin: Any) -> None:
    ex = client("kucoin", "kucoin-trade-ip")
    await ex.load_markets()
    await ex.create_order("BTC/USDT", "market", "buy", 0.01)
    await admin("kucoin").call("POST", "/__sim/reset")
    _, listed = await admin("kucoin").call("GET", "/__sim/orders")
    assert listed["count"] == 0
    assert (await ex.fetch_balance())["BTC"]["total"] == 0.25
