"""Unmodified ccxt against the simulator: markets, balances, status, introspection, test orders."""

from __future__ import annotations

from typing import Any

import pytest

from bf_sim import SimServer


async def test_mexc_spot_and_swap_with_a_good_key(client: Any, sim: SimServer) -> None:
    ex = client("mexc", "mexc-trade-ip")
    markets = await ex.load_markets()
    assert {"BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT", "BTC/USDT:USDT"} <= set(markets)
    assert markets["BTC/USDT"]["precision"]["amount"] == 1e-06
    assert markets["BTC/USDT:USDT"]["contractSize"] == 0.0001
    assert "USDT" in ex.currencies
    spot = await ex.fetch_balance()
    assert spot["USDT"]["free"] == 10000 and spot["BTC"]["total"] == 0.25
    swap = await ex.fetch_balance({"type": "swap"})
    assert swap["USDT"]["free"] == 5000
    assert (await ex.fetch_status())["status"] == "ok"
    assert (await ex.fetch_status({"type": "swap"}))["status"] == "ok"
    paths = [r.path for r in sim.mexc.requests]
    assert "/api/v3/capital/config/getall" in paths and "/api/v1/contract/detail" in paths


@pytest.mark.parametrize("exchange_id", ["kucoin", "kucoinfutures"])
async def test_kucoin_spot_and_futures_with_a_good_key(client: Any, exchange_id: str) -> None:
    ex = client(exchange_id, "kucoin-trade-ip")
    markets = await ex.load_markets()
    if exchange_id == "kucoin":
        assert {"BTC/USDT", "ETH/USDT", "DOGE/USDT"} <= set(markets)
        balance = await ex.fetch_balance()
        assert balance["USDT"]["free"] == 10000
    else:
        assert {"BTC/USDT:USDT", "ETH/USDT:USDT"} <= set(markets)
        assert markets["BTC/USDT:USDT"]["id"] == "XBTUSDTM"
        balance = await ex.fetch_balance()
        assert balance["USDT"]["free"] == 5000
    assert (await ex.fetch_status())["status"] == "ok"


async def test_kucoin_non_hf_account_reads_the_trade_wallet(client: Any, admin: Any, demo_key: Any) -> None:
    key = demo_key("kucoin-trade-noip")
    await admin("kucoin").call("PATCH", f"/__sim/keys/{key.api_key}", {"hf_account": False})
    ex = client("kucoin", "kucoin-trade-noip")
    balance = await ex.fetch_balance()
    assert ex.options["hf"] is False and balance["USDT"]["total"] == 10000
    assert any(r["path"] == "/api/v1/accounts" for r in await admin("kucoin").requests(api_key=key.api_key))


async def test_kucoin_api_key_introspection(client: Any, demo_key: Any) -> None:
    ex = client("kucoin", "kucoin-sub-account")
    data = (await ex.private_get_user_api_key())["data"]
    assert data["permission"] == "General,Spot,Futures"
    assert data["ipWhitelist"] == "127.0.0.1,::1"
    assert data["isMaster"] is False and data["subName"] == "demoSub01"
    assert data["apiKey"] == demo_key("kucoin-sub-account").api_key
    withdraw = (await client("kucoin", "kucoin-withdraw").private_get_user_api_key())["data"]
    assert "Transfer" in withdraw["permission"].split(",")


async def test_mexc_api_key_info_and_account_flags(client: Any) -> None:
    ex = client("mexc", "mexc-trade-noip")
    info = await ex.spot_private_get_apikeyinfo()
    assert "SPOT_DEAL_WRITE" in info["permissions"].split(",")
    assert "SPOT_WITHDRAW_WRITE" not in info["permissions"].split(",")
    assert info["ipWhiteList"] == "" and info["remainingValidity"] == 90
    account = await ex.spot_private_get_account()
    assert account["canTrade"] is True and "balances" in account


async def test_mexc_api_key_info_can_be_switched_off_like_an_unknown_path(
    client: Any, admin: Any, code_of: Any
) -> None:
    import ccxt

    await admin("mexc").call("PATCH", "/__sim/settings", {"api_key_info_supported": False})
    ex = client("mexc", "mexc-trade-ip")
    with pytest.raises(ccxt.ExchangeError) as exc:
        await ex.spot_private_get_apikeyinfo()
    assert code_of(exc.value) == "404"
    log = await admin("mexc").requests(path="/api/v3/apiKeyInfo")
    assert log[-1]["status"] == 404


async def test_mexc_post_api_key_info_is_refused_and_changes_nothing(client: Any, admin: Any, demo_key: Any) -> None:
    import ccxt

    key = demo_key("mexc-trade-ip")
    ex = client("mexc", "mexc-trade-ip")
    with pytest.raises(ccxt.ExchangeError):
        await ex.spot_private_post_apikeyinfo({"ip": "1.2.3.4"})
    status, summary = await admin("mexc").call("GET", f"/__sim/keys/{key.api_key}")
    assert status == 200 and summary["ip_whitelist"] == ["127.0.0.1", "::1"]


async def test_test_orders_validate_and_never_create_orders(client: Any, sim: SimServer) -> None:
    mexc = client("mexc", "mexc-trade-ip")
    await mexc.load_markets()
    await mexc.create_order("BTC/USDT", "limit", "buy", 0.001, 60000, {"test": True})
    kucoin = client("kucoin", "kucoin-trade-ip")
    await kucoin.create_order("BTC/USDT", "limit", "buy", 0.001, 60000, {"test": True})
    futures = client("kucoinfutures", "kucoin-trade-ip")
    await futures.create_order("BTC/USDT:USDT", "limit", "buy", 1, 60000, {"test": True, "leverage": 5})
    assert [r.status for r in sim.kucoin.requests if r.path.endswith("/test")] == [200, 200]
