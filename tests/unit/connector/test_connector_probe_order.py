"""The trade probe's test order is valid on the exchange's grid and far below the market."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bf_connector.domain.probe_order import SymbolRules, decimals_step, probe_order
from bf_connector.exchanges import kucoin, mexc


def test_limit_buy_is_twenty_percent_below_on_the_tick_grid() -> None:
    shape = probe_order(D("65000.37"), SymbolRules(price_tick=D("0.01"), size_step=D("0.000001"), min_notional=D("5")))
    assert shape.price == D("52000.29")
    assert shape.price % D("0.01") == 0


def test_size_meets_minimum_notional_after_rounding() -> None:
    rules = SymbolRules(price_tick=D("0.01"), size_step=D("0.000001"), min_size=D("0.00001"), min_notional=D("5"))
    shape = probe_order(D("65000"), rules)
    assert shape.size * shape.price >= D("5")
    assert shape.size % D("0.000001") == 0
    assert shape.size * shape.price < D("6")  # still the smallest sensible order


def test_minimum_size_wins_when_larger() -> None:
    rules = SymbolRules(price_tick=D("0.0001"), size_step=D("1"), min_size=D("100"), min_notional=D("1"))
    assert probe_order(D("0.15"), rules).size == D("100")


def test_price_never_drops_below_one_tick() -> None:
    shape = probe_order(D("0.00001"), SymbolRules(price_tick=D("0.0001"), size_step=D("1")))
    assert shape.price == D("0.0001")


def test_no_price_is_an_error() -> None:
    with pytest.raises(ValueError):
        probe_order(D("0"), SymbolRules(price_tick=D("0.01"), size_step=D("1")))


def test_decimals_step() -> None:
    assert decimals_step(2) == D("0.01") and decimals_step(0) == D("1")


def test_mexc_symbol_rules_use_the_fields_ccxt_uses() -> None:
    info = {"symbols": [{"symbol": "BTCUSDT", "baseAssetPrecision": 6, "quoteAssetPrecision": 2,
                         "baseSizePrecision": "0.00001", "quoteAmountPrecision": "5"}]}
    assert mexc.symbol_rules(info, "BTCUSDT") == SymbolRules(
        price_tick=D("0.01"), size_step=D("0.000001"), min_size=D("0.00001"), min_notional=D("5")
    )


def test_kucoin_symbol_rules_and_contract_rules() -> None:
    symbols = {"code": "200000", "data": [{"symbol": "BTC-USDT", "priceIncrement": "0.1", "baseIncrement": "0.00000001",
                                           "baseMinSize": "0.00001", "minFunds": "0.1"}]}
    assert kucoin.spot_rules(symbols, "BTC-USDT").price_tick == D("0.1")
    rules, last = kucoin.contract_rules({"code": "200000", "data": {"tickSize": 0.1, "lotSize": 1, "lastTradePrice": 65000.0}})
    assert (rules.size_step, rules.min_size, last) == (D("1"), D("1"), D("65000.0"))
    assert probe_order(last, rules).size == D("1")
