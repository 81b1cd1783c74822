"""KuCoin: spot (ccxt ``kucoin``) and futures (ccxt ``kucoinfutures``) quirks.

Docs: https://www.kucoin.com/docs-new/introduction, errors
https://www.kucoin.com/docs-new/error-code. Facts and gaps: EXCHANGES.md.

Per probe:

* exchange_status — ``GET /api/v1/status`` (``data.status``: ``open``; ``close`` and
  ``cancelonly`` mean no trading), on the futures host too when futures are wanted.
* credentials, permissions — one shared ``GET /api/v1/user/api-key`` (any valid key may call it):
  ``permission`` lists ``General`` (read), ``Spot`` (trade), ``Futures``, ``Transfer``
  (withdrawal; ``InnerTransfer`` moves funds between the user's own accounts and is not a
  withdrawal), ``Margin``, ``Earn``; a non-empty ``ipWhitelist`` means IP-restricted.
* read_balance — ``GET /api/v1/accounts?type=trade``.
* trade — a minimum BTC-USDT limit buy 20 % under the last price (``GET /api/v1/market/stats``,
  the endpoint of ccxt's ``fetch_ticker``), sent to the HF test
  endpoint ``POST /api/v1/hf/orders/test`` for HF accounts, else the classic
  ``POST /api/v1/orders/test`` (``GET /api/v1/hf/accounts/opened`` decides). Symbol rules
  from ``GET /api/v2/symbols``.
* futures_balance — ``GET /api/v1/account-overview?currency=USDT`` on the futures host; the
  futures test order ``POST /api/v1/orders/test`` (XBTUSDTM, one lot, leverage 1) adds
  evidence for the futures right.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import ccxt.async_support as ccxt_async

from bf_shared.codes import ErrorCode
from bf_shared.messages import ProbeError

from bf_connector.domain.facts import Introspection, PermissionReport
from bf_connector.domain.probe_order import SymbolRules, probe_order
from bf_connector.errors import CodeTable, ExchangeError, RawResponse, classify_response
from bf_connector.exchanges.base import Capabilities, RunContext, Venue, unavailable

PROBE_SYMBOL = "BTC-USDT"
PROBE_CONTRACT = "XBTUSDTM"

#: Spot and futures share one table: ``{"code": "<6 digits>", "msg": str}``.
CODES: CodeTable = {
    "400001": ErrorCode.INVALID_KEY,  # KC-API-* headers missing or empty
    "400002": ErrorCode.CLOCK_SKEW,  # KC-API-TIMESTAMP more than 5 s off
    "400003": ErrorCode.INVALID_KEY,  # KC-API-KEY does not exist
    "400004": ErrorCode.INVALID_PASSPHRASE,  # KC-API-PASSPHRASE wrong
    "400005": ErrorCode.INVALID_KEY,  # KC-API-SIGN wrong: the secret does not match
    "400006": ErrorCode.IP_NOT_ALLOWED,  # request IP not in the key's whitelist
    "400007": "permission_denied",  # access denied, requires more permission
    "429000": ErrorCode.RATE_LIMITED,  # too many requests
    "500000": ErrorCode.EXCHANGE_UNAVAILABLE,  # internal error / maintenance
    "404000": "not_supported",  # interface does not exist
}

_STATUS_OPEN = "open"


def classify(raw: RawResponse, *, now: float, secrets: tuple[str, ...] = ()) -> ProbeError:
    """Classify a KuCoin answer on its own code. A missing ``Retry-After`` on a 429 is
    filled from ``gw-ratelimit-reset`` (milliseconds until the quota resets)."""
    body = raw.json()
    code = body.get("code") if body is not None else None
    message = body.get("msg") if body is not None else None
    error = classify_response(
        raw,
        exchange_code=None if code is None else str(code),
        message=None if message is None else str(message),
        table=CODES,
        now=now,
        secrets=secrets,
    )
    if error.code == ErrorCode.RATE_LIMITED and error.retry_after_s is None:
        reset = raw.header("gw-ratelimit-reset")
        try:
            if reset is not None:
                error = error.model_copy(update={"retry_after_s": max(0.0, float(reset) / 1000)})
        except ValueError:
            pass
    return error


def _data(response: Any) -> Any:
    return response.get("data") if isinstance(response, Mapping) else None


def introspection(response: Mapping[str, Any]) -> Introspection | None:
    """Map ``GET /api/v1/user/api-key``; None when the answer has no permission list."""
    data = _data(response)
    if not isinstance(data, Mapping) or not isinstance(data.get("permission"), str):
        return None
    perms = {p.strip().lower() for p in data["permission"].split(",") if p.strip()}
    whitelist = data.get("ipWhitelist")
    return Introspection(
        read="general" in perms,
        trade="spot" in perms,
        withdraw="transfer" in perms,  # exact token: "innertransfer" is not a withdrawal
        futures="futures" in perms,
        ip_restricted=bool(whitelist.strip()) if isinstance(whitelist, str) else None,
    )


def spot_rules(symbols: Any, symbol: str) -> SymbolRules:
    """The probe symbol's rules from ``GET /api/v2/symbols``."""
    for entry in _data(symbols) or ():
        if isinstance(entry, Mapping) and entry.get("symbol") == symbol:
            try:
                return SymbolRules(
                    price_tick=Decimal(str(entry["priceIncrement"])),
                    size_step=Decimal(str(entry["baseIncrement"])),
                    min_size=Decimal(str(entry.get("baseMinSize") or 0)),
                    min_notional=Decimal(str(entry.get("minFunds") or 0)),
                )
            except (KeyError, InvalidOperation):
                break
    raise ExchangeError.of("unknown", f"no usable rules for {symbol}")


def contract_rules(contract: Any) -> tuple[SymbolRules, Decimal]:
    """(rules in lots, last price) from ``GET /api/v1/contracts/{symbol}``."""
    data = _data(contract)
    try:
        lot = Decimal(str(data.get("lotSize") or 1))
        rules = SymbolRules(price_tick=Decimal(str(data["tickSize"])), size_step=lot, min_size=lot)
        price = Decimal(str(data.get("lastTradePrice") or data.get("markPrice")))
    except (AttributeError, KeyError, InvalidOperation):
        raise ExchangeError.of("unknown", f"no usable rules for {PROBE_CONTRACT}") from None
    return rules, price


def _price(stats: Any) -> Decimal:
    data = _data(stats)
    try:
        return Decimal(str(data["last"]))
    except (TypeError, KeyError, InvalidOperation):
        raise ExchangeError.of("unknown", "no usable price") from None


class Kucoin(Venue):
    """KuCoin spot and futures."""

    id = "kucoin"
    capabilities = Capabilities(
        futures=True,
        introspection="confirmed",
        spot_test_order=True,
        futures_test_order=True,
    )
    spot_class = ccxt_async.kucoin
    futures_class = ccxt_async.kucoinfutures

    def classify(self, raw: RawResponse, *, now: float, secrets: tuple[str, ...]) -> ProbeError:
        return classify(raw, now=now, secrets=secrets)

    def rate_limit_headroom(self, raw: RawResponse) -> float | None:
        """``gw-ratelimit-remaining / gw-ratelimit-limit`` of the answer's pool."""
        try:
            limit = float(raw.header("gw-ratelimit-limit") or 0)
            remaining = float(raw.header("gw-ratelimit-remaining") or 0)
        except ValueError:
            return None
        return max(0.0, min(1.0, remaining / limit)) if limit > 0 else None

    async def exchange_status(self, ctx: RunContext) -> None:
        async def check(futures: bool) -> None:
            status = await ctx.call("fetch_status", futures=futures)
            raw = _data(status.get("info")) or {}
            if status.get("status") != "ok" or raw.get("status", _STATUS_OPEN) != _STATUS_OPEN:
                state = raw.get("status") if isinstance(raw.get("status"), str) else "unknown"
                raise unavailable(f"{'futures' if futures else 'spot'} status: {state}")

        checks = [check(False)]
        if "futures" in ctx.markets:
            checks.append(check(True))
        await asyncio.gather(*checks)

    async def _api_key(self, ctx: RunContext) -> Mapping[str, Any]:
        result: Mapping[str, Any] = await ctx.once("api_key", lambda: ctx.call("privateGetUserApiKey"))
        return result

    async def signed_check(self, ctx: RunContext) -> None:
        await self._api_key(ctx)

    async def read_balance(self, ctx: RunContext) -> None:
        await ctx.call("privateGetAccounts", {"type": "trade"})

    async def permissions(self, ctx: RunContext) -> PermissionReport:
        found = introspection(await self._api_key(ctx))
        if found is None:
            raise ExchangeError.of("unknown", "the api-key answer has no permission list")
        return PermissionReport(introspection=found)

    async def trade(self, ctx: RunContext) -> None:
        hf, symbols, stats = await asyncio.gather(
            self._is_hf_account(ctx),
            ctx.call("publicGetSymbols"),
            ctx.call("publicGetMarketStats", {"symbol": PROBE_SYMBOL}),
        )
        shape = probe_order(_price(stats), spot_rules(symbols, PROBE_SYMBOL))
        method = "privatePostHfOrdersTest" if hf else "privatePostOrdersTest"
        await ctx.call(
            method,
            {
                "clientOid": ctx.new_id(),
                "symbol": PROBE_SYMBOL,
                "side": "buy",
                "type": "limit",
                "price": format(shape.price, "f"),
                "size": format(shape.size, "f"),
            },
        )

    async def _is_hf_account(self, ctx: RunContext) -> bool:
        # A failure here must not pass for a trade refusal: assume HF, KuCoin's default since 2023.
        try:
            return _data(await ctx.call("privateGetHfAccountsOpened")) is not False
        except ExchangeError:
            return True

    async def futures_balance(self, ctx: RunContext) -> None:
        await ctx.call("futuresPrivateGetAccountOverview", {"currency": "USDT"}, futures=True)

    async def futures_trade(self, ctx: RunContext) -> bool | None:
        contract = await ctx.call("futuresPublicGetContractsSymbol", {"symbol": PROBE_CONTRACT}, futures=True)
        rules, last = contract_rules(contract)
        shape = probe_order(last, rules)
        try:
            await ctx.call(
                "futuresPrivatePostOrdersTest",
                {
                    "clientOid": ctx.new_id(),
                    "symbol": PROBE_CONTRACT,
                    "side": "buy",
                    "type": "limit",
                    "price": format(shape.price, "f"),
                    "size": int(shape.size),
                    "leverage": 1,
                    "marginMode": "ISOLATED",
                },
                futures=True,
            )
        except ExchangeError as e:
            return False if e.error.code == "permission_denied" else None
        return True
