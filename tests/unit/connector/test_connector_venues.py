"""Venue probe logic against a scripted session: which calls, which parameters, which fallbacks.

Covers the paths the simulator cannot reach (KuCoin's ``contracts/{symbol}``, classic
accounts, a ``cancelonly`` status) and pins the exact requests each venue makes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import pytest

from bf_shared.codes import ErrorCode
from bf_shared.messages import Market

from bf_connector.domain.facts import AccountHints, Introspection
from bf_connector.errors import ExchangeError
from bf_connector.exchanges.base import RunContext
from bf_connector.exchanges.kucoin import Kucoin
from bf_connector.exchanges.mexc import Mexc

Answer = Any | ExchangeError | Callable[[Mapping[str, Any]], Any]


class ScriptedSession:
    """Answers ccxt method names from a script; records every call."""

    def __init__(self, script: dict[str, Answer]) -> None:
        self.script = script
        self.calls: list[tuple[str, dict[str, Any], bool]] = []

    async def call(self, method: str, params: Mapping[str, Any] | None = None, *, futures: bool = False) -> Any:
        self.calls.append((method, dict(params or {}), futures))
        answer = self.script[method]
        if isinstance(answer, ExchangeError):
            raise answer
        return answer(params or {}) if callable(answer) else answer

    def params(self, method: str) -> dict[str, Any]:
        return next(p for m, p, _ in self.calls if m == method)


def _ctx(script: dict[str, Answer], markets: tuple[Market, ...] = ("spot", "futures")) -> tuple[RunContext, ScriptedSession]:
    session = ScriptedSession(script)
    return RunContext(session, markets, new_id=lambda: "oid-1"), session  # type: ignore[arg-type]


DENIED = ExchangeError.of("permission_denied", "denied")
MISSING = ExchangeError.of("not_supported", "Not Found", http_status=404)

MEXC_INFO = {"symbols": [{"symbol": "BTCUSDT", "baseAssetPrecision": 6, "quoteAssetPrecision": 2,
                          "baseSizePrecision": "0.00001", "quoteAmountPrecision": "5"}]}


async def test_mexc_trade_sends_a_valid_limit_buy_to_the_test_endpoint() -> None:
    ctx, session = _ctx({
        "spotPublicGetExchangeInfo": MEXC_INFO,
        "spotPublicGetTicker24hr": {"symbol": "BTCUSDT", "lastPrice": "65000.00"},
        "spotPrivatePostOrderTest": {},
    })
    await Mexc().trade(ctx)
    order = session.params("spotPrivatePostOrderTest")
    assert order == {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.000106", "price": "52000"}
    assert Decimal(order["quantity"]) * Decimal(order["price"]) >= 5
    assert session.params("spotPublicGetExchangeInfo") == {"symbol": "BTCUSDT"}


async def test_mexc_trade_refusal_surfaces_as_permission_denied() -> None:
    ctx, _ = _ctx({"spotPublicGetExchangeInfo": MEXC_INFO, "spotPublicGetTicker24hr": {"lastPrice": "65000"},
                   "spotPrivatePostOrderTest": DENIED})
    with pytest.raises(ExchangeError) as caught:
        await Mexc().trade(ctx)
    assert caught.value.error.code == "permission_denied"


@pytest.mark.parametrize("api_key_info", [MISSING, DENIED, ExchangeError.of("unknown", "x"), {"code": 0}])
async def test_mexc_permissions_fall_back_to_the_account_when_api_key_info_does_not_answer(api_key_info: Answer) -> None:
    ctx, session = _ctx({"spotPrivateGetApiKeyInfo": api_key_info,
                         "spotPrivateGetAccount": {"canTrade": True, "canWithdraw": False}})
    report = await Mexc().permissions(ctx)
    assert report.introspection is None
    assert report.hints == AccountHints(can_withdraw=False)
    assert [m for m, _, _ in session.calls] == ["spotPrivateGetApiKeyInfo", "spotPrivateGetAccount"]


async def test_mexc_permissions_never_use_the_post_variant() -> None:
    ctx, session = _ctx({"spotPrivateGetApiKeyInfo": {"permissions": "SPOT_ACCOUNT_READ", "ipWhiteList": ""}})
    report = await Mexc().permissions(ctx)
    assert report.introspection == Introspection(read=True, trade=False, withdraw=False, futures=False, ip_restricted=False)
    assert all("Post" not in m for m, _, _ in session.calls)


async def test_mexc_status_checks_the_contract_api_only_when_futures_are_wanted() -> None:
    ok = {"status": "ok"}
    ctx, session = _ctx({"fetch_status": ok}, markets=("spot",))
    await Mexc().exchange_status(ctx)
    assert [p for _, p, _ in session.calls] == [{}]
    ctx, session = _ctx({"fetch_status": lambda p: {"status": "ok" if p.get("type") != "swap" else '{"success":false}'}})
    with pytest.raises(ExchangeError) as caught:
        await Mexc().exchange_status(ctx)
    assert caught.value.error.code == ErrorCode.EXCHANGE_UNAVAILABLE


async def test_mexc_credentials_and_balance_share_one_account_call() -> None:
    ctx, session = _ctx({"spotPrivateGetAccount": {"balances": []}})
    venue = Mexc()
    await venue.credentials(ctx)
    await venue.read_balance(ctx)
    assert [m for m, _, _ in session.calls] == ["spotPrivateGetAccount"]
    await ctx.aclose()


@pytest.mark.parametrize("state", ["close", "cancelonly"])
async def test_kucoin_status_other_than_open_is_unavailable(state: str) -> None:
    ctx, _ = _ctx({"fetch_status": {"status": "maintenance", "info": {"code": "200000", "data": {"status": state}}}},
                  markets=("spot",))
    with pytest.raises(ExchangeError) as caught:
        await Kucoin().exchange_status(ctx)
    assert caught.value.error.code == ErrorCode.EXCHANGE_UNAVAILABLE and state in caught.value.error.detail


KUCOIN_SYMBOLS = {"code": "200000", "data": [{"symbol": "BTC-USDT", "priceIncrement": "0.1", "baseIncrement": "0.00000001",
                                              "baseMinSize": "0.00001", "minFunds": "0.1"}]}
KUCOIN_STATS = {"code": "200000", "data": {"symbol": "BTC-USDT", "last": "65000.5"}}


@pytest.mark.parametrize(
    ("hf_answer", "endpoint"),
    [
        ({"code": "200000", "data": True}, "privatePostHfOrdersTest"),
        ({"code": "200000", "data": False}, "privatePostOrdersTest"),
        (ExchangeError.of(ErrorCode.RATE_LIMITED, "x"), "privatePostHfOrdersTest"),  # never a trade refusal
    ],
)
async def test_kucoin_trade_uses_the_test_endpoint_of_the_account_kind(hf_answer: Answer, endpoint: str) -> None:
    ctx, session = _ctx({"privateGetHfAccountsOpened": hf_answer, "publicGetSymbols": KUCOIN_SYMBOLS,
                         "publicGetMarketStats": KUCOIN_STATS, endpoint: {"code": "200000", "data": {}}})
    await Kucoin().trade(ctx)
    assert session.params(endpoint) == {"clientOid": "oid-1", "symbol": "BTC-USDT", "side": "buy", "type": "limit",
                                        "price": "52000.4", "size": "0.00001"}


CONTRACT = {"code": "200000", "data": {"symbol": "XBTUSDTM", "tickSize": 0.1, "lotSize": 1, "lastTradePrice": 65000.0}}


@pytest.mark.parametrize(
    ("order_answer", "expected"),
    [({"code": "200000", "data": {"orderId": "x"}}, True), (DENIED, False), (ExchangeError.of("unknown", "bad leverage"), None)],
)
async def test_kucoin_futures_test_order(order_answer: Answer, expected: bool | None) -> None:
    ctx, session = _ctx({"futuresPublicGetContractsSymbol": CONTRACT, "futuresPrivatePostOrdersTest": order_answer})
    assert await Kucoin().futures_trade(ctx) is expected
    assert session.params("futuresPrivatePostOrdersTest") == {
        "clientOid": "oid-1", "symbol": "XBTUSDTM", "side": "buy", "type": "limit", "price": "52000",
        "size": 1, "leverage": 1, "marginMode": "ISOLATED",
    }
    assert all(futures for _, _, futures in session.calls)


async def test_kucoin_futures_balance_goes_to_the_futures_client() -> None:
    ctx, session = _ctx({"futuresPrivateGetAccountOverview": {"code": "200000", "data": {}}})
    await Kucoin().futures_balance(ctx)
    assert session.calls == [("futuresPrivateGetAccountOverview", {"currency": "USDT"}, True)]


async def test_kucoin_permissions_without_a_permission_list_fail_the_probe() -> None:
    ctx, _ = _ctx({"privateGetUserApiKey": {"code": "200000", "data": {}}})
    with pytest.raises(ExchangeError):
        await Kucoin().permissions(ctx)
    await ctx.aclose()


def test_kucoin_rate_limit_headroom_from_headers() -> None:
    from bf_connector.errors import RawResponse

    raw = RawResponse(status=200, path="/", headers={"gw-ratelimit-limit": "2000", "gw-ratelimit-remaining": "500"})
    assert Kucoin().rate_limit_headroom(raw) == 0.25
    assert Kucoin().rate_limit_headroom(RawResponse(status=200, path="/")) is None
