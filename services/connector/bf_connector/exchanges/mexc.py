"""MEXC: spot v3 and futures (contract) quirks.

Docs: spot https://www.mexc.com/api-docs/spot-v3/introduction, errors
https://www.mexc.com/api-docs/spot-v3/error-code; futures
https://www.mexc.com/api-docs/futures/integration-guide, errors
https://www.mexc.com/api-docs/futures/error-code. Facts and gaps: EXCHANGES.md.

Per probe:

* exchange_status — ``GET /api/v3/ping`` (ccxt ``fetch_status``), plus the contract ping
  (``fetch_status`` type swap) when futures are wanted.
* credentials, read_balance — one shared ``GET /api/v3/account``.
* permissions — ``GET /api/v3/apiKeyInfo`` (UNCONFIRMED on the real exchange). When it does not
  answer usably, fall back to the account's ``canTrade``/``canWithdraw``, which may only
  *deny* (a ``true`` is account-level and says nothing about the key). Never the POST
  variant: it changes the key's IP whitelist.
* trade — ``POST /api/v3/order/test`` with a minimum BTCUSDT limit buy 20 % under the last
  price (symbol rules from ``GET /api/v3/exchangeInfo?symbol=``, price from
  ``GET /api/v3/ticker/24hr?symbol=``, the endpoint of ccxt's ``fetch_ticker``).
* futures_balance — ``GET /api/v1/private/account/assets``. MEXC has no futures test order,
  so the futures right comes from introspection only (``CONTRACT_DEAL_WRITE``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import ccxt.async_support as ccxt_async

from bf_shared.codes import ErrorCode
from bf_shared.messages import ProbeError

from bf_connector.domain.facts import AccountHints, Introspection, PermissionReport
from bf_connector.domain.probe_order import SymbolRules, decimals_step, probe_order
from bf_connector.errors import CodeTable, ExchangeError, RawResponse, classify_response
from bf_connector.exchanges.base import Capabilities, RunContext, Venue, unavailable

PROBE_SYMBOL = "BTCUSDT"

#: Spot v3: HTTP 4xx with ``{"code": int, "msg": str}``.
SPOT_CODES: CodeTable = {
    "10072": ErrorCode.INVALID_KEY,  # Api key info invalid (unknown or expired key)
    "700001": ErrorCode.INVALID_KEY,  # API-key format invalid
    "700002": ErrorCode.INVALID_KEY,  # signature not valid: the secret does not match
    "700003": ErrorCode.CLOCK_SKEW,  # timestamp outside recvWindow
    "700006": ErrorCode.IP_NOT_ALLOWED,  # IP [x] not in the ip white list
    "700007": "permission_denied",  # no permission to access the endpoint
    # MEXC's own server-error codes, also sent in bodies (maintenance answers carry 500).
    "500": ErrorCode.EXCHANGE_UNAVAILABLE,
    "501": ErrorCode.EXCHANGE_UNAVAILABLE,
    "503": ErrorCode.EXCHANGE_UNAVAILABLE,
}

#: Futures: HTTP 200 (or 429) with ``{"success": false, "code": int, "message": str}``.
CONTRACT_CODES: CodeTable = {
    "401": ErrorCode.INVALID_KEY,  # not logged in / key unknown
    "402": ErrorCode.INVALID_KEY,  # API key expired
    "602": ErrorCode.INVALID_KEY,  # signature verification failed
    "406": ErrorCode.IP_NOT_ALLOWED,  # accessing IP not in the whitelist
    "701": "permission_denied",  # account read
    "702": "permission_denied",  # account write
    "703": "permission_denied",  # trade read
    "704": "permission_denied",  # trade write
    "513": ErrorCode.CLOCK_SKEW,  # Request-Time outside 10 s
    "510": ErrorCode.RATE_LIMITED,  # requests too frequent
    "500": ErrorCode.EXCHANGE_UNAVAILABLE,  # internal error / maintenance body
    "501": ErrorCode.EXCHANGE_UNAVAILABLE,  # system busy
    "503": ErrorCode.EXCHANGE_UNAVAILABLE,
    "604": ErrorCode.EXCHANGE_UNAVAILABLE,  # feature under maintenance
    "801": ErrorCode.EXCHANGE_UNAVAILABLE,  # system under maintenance
}

# Native permission names (EXCHANGES.md, "Permission introspection").
_READ = "SPOT_ACCOUNT_READ"
_TRADE = "SPOT_DEAL_WRITE"
_WITHDRAW = "SPOT_WITHDRAW_WRITE"  # SPOT_WITHDRAW_READ only shows history; TRANSFER is internal
_FUTURES_TRADE = "CONTRACT_DEAL_WRITE"


def _is_contract(raw: RawResponse, body: Mapping[str, Any] | None) -> bool:
    return (body is not None and "success" in body) or raw.path.startswith("/api/v1/")


def classify(raw: RawResponse, *, now: float, secrets: tuple[str, ...] = ()) -> ProbeError:
    """Classify a MEXC answer on its own code (spot or contract table by the answer's shape)."""
    body = raw.json()
    code = body.get("code") if body is not None else None
    message = (body.get("msg") or body.get("message")) if body is not None else None
    return classify_response(
        raw,
        exchange_code=None if code is None else str(code),
        message=None if message is None else str(message),
        table=CONTRACT_CODES if _is_contract(raw, body) else SPOT_CODES,
        now=now,
        secrets=secrets,
    )


def _tokens(value: Any) -> frozenset[str] | None:
    if isinstance(value, str):
        return frozenset(t.strip().upper() for t in value.split(",") if t.strip())
    if isinstance(value, list | tuple):
        return frozenset(str(t).strip().upper() for t in value if str(t).strip())
    return None


def _non_empty(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple):
        return any(str(v).strip() for v in value)
    return None


def introspection(info: Mapping[str, Any]) -> Introspection | None:
    """Map an ``apiKeyInfo`` answer; None when it does not carry a permission list.

    ``remainingValidity`` (days) is set on keys without a bound IP, which MEXC expires.
    """
    data = info.get("data")
    payload: Mapping[str, Any] = data if isinstance(data, Mapping) else info
    perms = _tokens(payload.get("permissions"))
    if perms is None:
        return None
    validity = payload.get("remainingValidity")
    try:
        expires = max(0, int(float(validity))) if validity not in (None, "") else None
    except (TypeError, ValueError):
        expires = None
    return Introspection(
        read=_READ in perms,
        trade=_TRADE in perms,
        withdraw=_WITHDRAW in perms,
        futures=_FUTURES_TRADE in perms,
        ip_restricted=_non_empty(payload.get("ipWhiteList")),
        expires_in_days=expires,
    )


def account_hints(account: Mapping[str, Any]) -> AccountHints:
    """``canTrade``/``canWithdraw`` of ``GET /api/v3/account``: only a ``false`` is evidence."""
    return AccountHints(
        can_trade=False if account.get("canTrade") is False else None,
        can_withdraw=False if account.get("canWithdraw") is False else None,
    )


def symbol_rules(info: Mapping[str, Any], symbol: str) -> SymbolRules:
    """The probe symbol's rules from ``exchangeInfo`` (same fields ccxt's markets use)."""
    for entry in info.get("symbols") or ():
        if entry.get("symbol") == symbol:
            try:
                return SymbolRules(
                    price_tick=decimals_step(int(entry["quoteAssetPrecision"])),
                    size_step=decimals_step(int(entry["baseAssetPrecision"])),
                    min_size=Decimal(str(entry.get("baseSizePrecision") or 0)),
                    min_notional=Decimal(str(entry.get("quoteAmountPrecision") or 0)),
                )
            except (KeyError, TypeError, ValueError, InvalidOperation):
                break
    raise ExchangeError.of("unknown", f"no usable rules for {symbol}")


def last_price(ticker: Mapping[str, Any]) -> Decimal:
    """``ticker/24hr`` (one symbol) -> last price."""
    try:
        return Decimal(str(ticker["lastPrice"]))
    except (KeyError, TypeError, InvalidOperation):
        raise ExchangeError.of("unknown", "no usable price") from None


class Mexc(Venue):
    """MEXC spot and futures through ccxt's ``mexc`` class (one client serves both)."""

    id = "mexc"
    capabilities = Capabilities(
        futures=True, introspection="unconfirmed", spot_test_order=True, futures_test_order=False
    )
    spot_class = ccxt_async.mexc
    ccxt_options: ClassVar[Mapping[str, Any]] = {"recvWindow": 5000}

    def classify(self, raw: RawResponse, *, now: float, secrets: tuple[str, ...]) -> ProbeError:
        return classify(raw, now=now, secrets=secrets)

    async def exchange_status(self, ctx: RunContext) -> None:
        async def check(params: Mapping[str, Any]) -> None:
            status = await ctx.call("fetch_status", params)
            if status.get("status") != "ok":
                raise unavailable("the exchange reports it is not operating normally")

        checks = [check({})]
        if "futures" in ctx.markets:
            checks.append(check({"type": "swap"}))
        await asyncio.gather(*checks)

    async def _account(self, ctx: RunContext) -> Mapping[str, Any]:
        result: Mapping[str, Any] = await ctx.once("account", lambda: ctx.call("spotPrivateGetAccount"))
        return result

    async def signed_check(self, ctx: RunContext) -> None:
        await self._account(ctx)

    async def read_balance(self, ctx: RunContext) -> None:
        await self._account(ctx)

    async def permissions(self, ctx: RunContext) -> PermissionReport:
        try:
            found = introspection(await ctx.call("spotPrivateGetApiKeyInfo"))
        except ExchangeError:
            # UNCONFIRMED endpoint: whatever it answers, degrade to what the account can tell.
            found = None
        if found is not None:
            return PermissionReport(introspection=found)
        return PermissionReport(hints=account_hints(await self._account(ctx)))

    async def trade(self, ctx: RunContext) -> None:
        info, ticker = await asyncio.gather(
            ctx.call("spotPublicGetExchangeInfo", {"symbol": PROBE_SYMBOL}),
            ctx.call("spotPublicGetTicker24hr", {"symbol": PROBE_SYMBOL}),
        )
        shape = probe_order(last_price(ticker), symbol_rules(info, PROBE_SYMBOL))
        await ctx.call(
            "spotPrivatePostOrderTest",
            {
                "symbol": PROBE_SYMBOL,
                "side": "BUY",
                "type": "LIMIT",
                "quantity": format(shape.size, "f"),
                "price": format(shape.price, "f"),
            },
        )

    async def futures_balance(self, ctx: RunContext) -> None:
        await ctx.call("contractPrivateGetAccountAssets")
