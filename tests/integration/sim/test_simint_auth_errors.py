"""Every credential failure answers the exchange's own code, and ccxt sees it."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

WRONG_SECRET = "demo00000000000000000000000000ff"


async def test_mexc_wrong_secret_is_700002_on_spot_and_602_on_futures(client: Any, code_of: Any) -> None:
    ex = client("mexc", "mexc-trade-ip", secret=WRONG_SECRET)
    with pytest.raises(ccxt.AuthenticationError) as spot:
        await ex.fetch_balance()  # load_markets' signed currency call fails first
    assert code_of(spot.value) == "700002"
    with pytest.raises(ccxt.AuthenticationError) as swap:
        await ex.contract_private_get_account_assets()
    assert code_of(swap.value) == "602"


async def test_mexc_unknown_key(client: Any, code_of: Any) -> None:
    ex = client("mexc", "mexc-trade-ip", api_key="demoUnknownKey0001")
    with pytest.raises(ccxt.BadRequest) as spot:
        await ex.spot_private_get_account()
    assert code_of(spot.value) == "10072"
    with pytest.raises(ccxt.AuthenticationError) as swap:
        await ex.contract_private_get_account_assets()
    assert code_of(swap.value) == "401"


async def test_mexc_expired_key(client: Any, code_of: Any) -> None:
    ex = client("mexc", "mexc-expired")
    with pytest.raises(ccxt.BadRequest) as spot:
        await ex.spot_private_get_account()
    assert code_of(spot.value) == "10072"
    with pytest.raises(ccxt.AuthenticationError) as swap:
        await ex.contract_private_get_account_assets()
    assert code_of(swap.value) == "402"


async def test_kucoin_wrong_secret_wrong_passphrase_unknown_key(client: Any, code_of: Any) -> None:
    with pytest.raises(ccxt.AuthenticationError) as passphrase:
        await client("kucoin", "kucoin-trade-ip", password="demo-not-the-passphrase").private_get_accounts()
    assert code_of(passphrase.value) == "400004"
    with pytest.raises(ccxt.AuthenticationError) as unknown:
        await client(
            "kucoinfutures", "kucoin-trade-ip", api_key="demoffffffffffffffffffff"
        ).futuresprivate_get_account_overview()
    assert code_of(unknown.value) == "400003"
    with pytest.raises(ccxt.AuthenticationError) as secret:
        await client("kucoin", "kucoin-trade-ip", secret="demo-0000-0000-0000-000000000000").private_get_accounts()
    assert code_of(secret.value) == "400005"


async def test_ip_not_whitelisted(client: Any, code_of: Any) -> None:
    mexc = client("mexc", "mexc-ip-blocked")
    with pytest.raises(ccxt.BadRequest) as spot:
        await mexc.spot_private_get_account()
    assert code_of(spot.value) == "700006" and "127.0.0.1" in str(spot.value)
    with pytest.raises(ccxt.PermissionDenied) as swap:
        await mexc.contract_private_get_account_assets()
    assert code_of(swap.value) == "406"
    kucoin = client("kucoin", "kucoin-ip-blocked")
    with pytest.raises(ccxt.AuthenticationError) as kc:
        await kucoin.private_get_accounts()
    assert code_of(kc.value) == "400006" and "127.0.0.1" in str(kc.value)


async def test_missing_permissions(client: Any, code_of: Any) -> None:
    read_only = client("mexc", "mexc-read-only")
    await read_only.load_markets()
    with pytest.raises(ccxt.AuthenticationError) as spot_trade:
        await read_only.create_order("BTC/USDT", "limit", "buy", 0.001, 60000, {"test": True})
    assert code_of(spot_trade.value) == "700007"
    no_futures = client("mexc", "mexc-no-futures")
    with pytest.raises(ccxt.PermissionDenied) as futures_read:
        await no_futures.fetch_balance({"type": "swap"})
    assert code_of(futures_read.value) == "701"

    kc_read_only = client("kucoin", "kucoin-read-only")
    with pytest.raises(ccxt.AuthenticationError) as kc_trade:
        await kc_read_only.create_order("BTC/USDT", "limit", "buy", 0.001, 60000, {"test": True})
    assert code_of(kc_trade.value) == "400007"
    kc_no_futures = client("kucoinfutures", "kucoin-no-futures")
    assert (await kc_no_futures.fetch_balance())["USDT"]["free"] == 5000  # futures reads need only General
    with pytest.raises(ccxt.AuthenticationError) as kc_futures:
        await kc_no_futures.create_order("BTC/USDT:USDT", "limit", "buy", 1, 60000, {"test": True})
    assert code_of(kc_futures.value) == "400007"


async def test_mexc_currency_config_needs_withdraw_read_as_documented(
    client: Any, admin: Any, demo_key: Any, code_of: Any
) -> None:
    key = demo_key("mexc-trade-noip")
    perms = [p for p in key.permissions if p != "SPOT_WITHDRAW_READ"]
    await admin("mexc").call("PATCH", f"/__sim/keys/{key.api_key}", {"permissions": perms})
    with pytest.raises(ccxt.AuthenticationError) as exc:
        await client("mexc", "mexc-trade-noip").load_markets()
    assert code_of(exc.value) == "700007"
    await admin("mexc").call("PATCH", "/__sim/settings", {"currency_config_permission": None})
    await client("mexc", "mexc-trade-noip").load_markets()


async def test_revoked_key_becomes_unknown_and_a_created_key_works(
    client: Any, admin: Any, demo_key: Any, code_of: Any
) -> None:
    key = demo_key("kucoin-trade-ip")
    kc = admin("kucoin")
    assert (await kc.call("DELETE", f"/__sim/keys/{key.api_key}"))[0] == 204
    with pytest.raises(ccxt.AuthenticationError) as exc:
        await client("kucoin", "kucoin-trade-ip").private_get_accounts()
    assert code_of(exc.value) == "400003"
    status, body = await kc.call(
        "POST",
        "/__sim/keys",
        {
            "api_key": "demo0000000000000000beef",
            "secret": "demo-new-secret",
            "passphrase": "demo-new-pass",
            "permissions": ["General"],
            "balances": {"spot": {"USDT": "7"}},
        },
    )
    assert status == 201 and "demo-new-secret" not in str(body) and "demo-new-pass" not in str(body)
    fresh = client(
        "kucoin",
        "kucoin-trade-ip",
        api_key="demo0000000000000000beef",
        secret="demo-new-secret",
        password="demo-new-pass",
    )
    accounts = (await fresh.private_get_accounts({"type": "trade"}))["data"]
    assert accounts[0]["balance"] == "7"
    assert (await kc.call("POST", "/__sim/reset"))[0] == 200
    await client("kucoin", "kucoin-trade-ip").private_get_accounts()
