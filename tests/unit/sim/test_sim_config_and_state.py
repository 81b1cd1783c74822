"""Config validation, the shipped demo keys, key state and the ccxt URL helper."""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest
from pydantic import ValidationError

from bf_sim.ccxt_urls import override_urls, with_origin
from bf_sim.clock import ManualClock
from bf_sim.config import KeyConfig, KucoinConfig, MexcConfig, demo_config
from bf_sim.engine.prices import PricePaths
from bf_sim.state import ExchangeState

ORIGIN = "http://127.0.0.1:9101"


def test_demo_keys_are_obviously_demo_and_never_look_like_vault_tokens() -> None:
    config = demo_config()
    for exchange in (config.mexc, config.kucoin):
        for key in exchange.keys:
            for value in (
                key.api_key,
                key.secret.get_secret_value(),
                *([key.passphrase.get_secret_value()] if key.passphrase else []),
            ):
                assert value.startswith("demo")
                assert not value.startswith(("hvs.", "s.", "hvb.", "b."))
    assert all(k.passphrase is not None for k in config.kucoin.keys)


@pytest.mark.parametrize("exchange", ["mexc", "kucoin"])
def test_demo_config_covers_every_kind_of_key(exchange: str) -> None:
    keys = {k.label: k for k in getattr(demo_config(), exchange).keys}
    trade = "SPOT_DEAL_WRITE" if exchange == "mexc" else "Spot"
    futures = "CONTRACT_DEAL_WRITE" if exchange == "mexc" else "Futures"
    withdraw = "SPOT_WITHDRAW_WRITE" if exchange == "mexc" else "Transfer"
    good_ip = keys[f"{exchange}-trade-ip"]
    assert {trade, futures} <= set(good_ip.permissions) and "127.0.0.1" in good_ip.ip_whitelist
    assert withdraw not in good_ip.permissions
    assert not keys[f"{exchange}-trade-noip"].ip_whitelist
    assert withdraw in keys[f"{exchange}-withdraw"].permissions
    assert trade not in keys[f"{exchange}-read-only"].permissions
    assert futures not in keys[f"{exchange}-no-futures"].permissions


def test_unknown_native_permission_is_rejected() -> None:
    with pytest.raises(ValidationError):
        MexcConfig(keys=(KeyConfig(api_key="demoA", secret="demoS", permissions=("Spot",)),))  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        KucoinConfig(keys=(KeyConfig(api_key="demoA", secret="demoS", permissions=("SPOT_DEAL_WRITE",)),))  # type: ignore[arg-type]


def test_unknown_config_field_is_rejected() -> None:
    with pytest.raises(ValidationError):
        KeyConfig.model_validate({"api_key": "demoA", "secret": "demoS", "permisions": []})


def test_secret_never_in_repr() -> None:
    key = KeyConfig(api_key="demoA", secret="demoSuperSecretValue", passphrase="demoPassValue")  # type: ignore[arg-type]
    assert "demoSuperSecretValue" not in repr(key) and "demoPassValue" not in repr(key)


def make_state(*keys: KeyConfig) -> tuple[ExchangeState, ManualClock]:
    clock = ManualClock(1_700_000_000_000)
    return ExchangeState("mexc", MexcConfig(keys=keys), clock), clock


def test_ip_whitelist_takes_addresses_and_networks() -> None:
    state, _ = make_state(
        KeyConfig.model_validate({"api_key": "demoK", "secret": "demoS", "ip_whitelist": ["10.1.0.0/16", "::1"]})
    )
    key = state.keys["demoK"]
    assert key.ip_allowed("10.1.2.3") and key.ip_allowed("::1")
    assert not key.ip_allowed("127.0.0.1") and not key.ip_allowed("not-an-ip")


def test_remaining_validity_counts_down_in_whole_days() -> None:
    state, clock = make_state(KeyConfig.model_validate({"api_key": "demoK", "secret": "demoS", "expires_in_days": 90}))
    key = state.keys["demoK"]
    assert key.remaining_validity_days(clock.now_ms()) == 90
    clock.advance(86_400_000 + 1)
    assert key.remaining_validity_days(clock.now_ms()) == 89
    assert not key.expired(clock.now_ms())
    clock.advance(89 * 86_400_000)
    assert key.expired(clock.now_ms()) and key.remaining_validity_days(clock.now_ms()) == 0


def test_keys_of_one_account_share_balances_and_reset_restores_them() -> None:
    a = KeyConfig.model_validate(
        {"api_key": "demoA", "secret": "demoS", "account": "acc", "balances": {"spot": {"USDT": "10"}}}
    )
    b = KeyConfig.model_validate({"api_key": "demoB", "secret": "demoS", "account": "acc"})
    state, _ = make_state(a, b)
    assert state.keys["demoA"].account is state.keys["demoB"].account
    state.keys["demoA"].account.spot["USDT"] = Decimal("3")
    state.delete_key("demoB")
    state.reset()
    assert state.keys["demoB"].account.spot["USDT"] == Decimal("10")


def test_override_urls_keeps_path_suffixes_and_replaces_only_the_origin() -> None:
    mexc = ccxt.mexc()
    override_urls(mexc, ORIGIN)
    assert mexc.urls["api"]["contract"] == {
        "public": f"{ORIGIN}/api/v1/contract",
        "private": f"{ORIGIN}/api/v1/private",
    }
    assert mexc.urls["api"]["spot"]["private"] == ORIGIN
    assert mexc.urls["api"]["broker"]["private"] == f"{ORIGIN}/api/v3/broker"
    kucoin = ccxt.kucoinfutures()
    override_urls(kucoin, ORIGIN)
    assert kucoin.urls["api"]["futuresPrivate"] == ORIGIN
    assert kucoin.urls["api"]["webExchange"] == f"{ORIGIN}/_api"
    assert all(str(v).startswith(ORIGIN) for v in kucoin.urls["api"].values())
    assert with_origin("https://api.kucoin.com", "http://[::1]:1") == "http://[::1]:1"


def test_price_paths_are_deterministic_per_seed_and_follow_scripts() -> None:
    a, b, c = PricePaths(7), PricePaths(7), PricePaths(8)
    a.advance(5)
    b.advance(5)
    c.advance(5)
    assert a.all() == b.all() != c.all()
    a.script("BTC", [Decimal("100"), Decimal("90")])
    assert a.price("BTC") == Decimal("100")
    a.advance(3)
    assert a.price("BTC") == Decimal("90")
    a.reset()
    assert a.price("BTC") == Decimal("65000") and not a.scripted("BTC")


def test_fixed_window_limiter_refuses_overflow_and_resets() -> None:
    from bf_sim.ratelimit import FixedWindowLimiter

    clock = ManualClock(0)
    limiter = FixedWindowLimiter(clock)
    assert limiter.hit("b", 6, 10, 1000).remaining == 4
    refused = limiter.hit("b", 5, 10, 1000)
    assert not refused.allowed and refused.reset_ms == 1000
    clock.advance(1000)
    assert limiter.hit("b", 5, 10, 1000).allowed
