"""KuCoin spot endpoints (https://www.kucoin.com/docs-new/rest/spot-trading/market-data/introduction)."""

from __future__ import annotations

import uuid
import zlib
from decimal import Decimal, InvalidOperation
from typing import Any

from bf_sim import markets
from bf_sim.engine.orders import OrderRequest
from bf_sim.errors import kucoin_error
from bf_sim.kucoin.venue import VENUE
from bf_sim.routing import Ctx, Endpoint


async def server_time(ctx: Ctx) -> int:
    """``GET /api/v1/timestamp``."""
    return ctx.now_ms


async def status(ctx: Ctx) -> dict[str, str]:
    """``GET /api/v1/status`` (spot and futures): ``open``, or ``close`` during maintenance."""
    if ctx.state.conditions.maintenance:
        return {"status": "close", "msg": "System maintenance"}
    return {"status": "open", "msg": ""}


async def currencies(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v3/currencies``."""
    return markets.kucoin_currencies()


async def symbols(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v2/symbols`` (optional ``market`` filter)."""
    out = markets.kucoin_symbols()
    market = ctx.param("market")
    return [s for s in out if s["market"] == market] if market else out


async def margin_symbols(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v3/margin/symbols`` (signed): cross-margin symbols."""
    items = [dict(s, minFunds="0.1") for s in markets.kucoin_symbols()]
    return {"timestamp": ctx.now_ms, "items": items}


async def isolated_symbols(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v1/isolated/symbols`` (signed): none in the simulator."""
    return []


async def account_mode(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/ua/v1/account/mode`` (signed): every simulated account is classic, not unified."""
    return {"selfAccountMode": "CLASSIC"}


async def hf_accounts_opened(ctx: Ctx) -> bool:
    """``GET /api/v1/hf/accounts/opened``: whether the account trades through HF endpoints."""
    return ctx.signed_key.config.hf_account


async def accounts(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v1/accounts`` (General): the trade wallet answers to ``trade`` and ``trade_hf``."""
    wanted_type = ctx.param("type")
    currency = ctx.param("currency")
    if wanted_type not in (None, "trade", "trade_hf"):
        return []
    account = ctx.signed_key.account
    out = []
    for code in sorted(account.spot):
        if currency and code != currency:
            continue
        total = account.spot[code]
        holds = account.spot_locked.get(code, Decimal(0))
        out.append(
            {
                "id": f"{account.account_id[:8]}{code}".lower(),
                "currency": code,
                "type": wanted_type or "trade",
                "balance": markets.fmt(total),
                "available": markets.fmt(total - holds),
                "holds": markets.fmt(holds),
            }
        )
    return out


async def api_key_info(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/user/api-key`` (any valid key): permissions and IP whitelist of the calling key."""
    key = ctx.signed_key
    info: dict[str, Any] = {
        "remark": key.config.label or "",
        "apiKey": key.api_key,
        "apiVersion": 3,
        "permission": ",".join(key.config.permissions),
        "ipWhitelist": ",".join(key.config.ip_whitelist),
        "createdAt": key.created_at_ms,
        "uid": zlib.crc32(key.account.account_id.encode()) % 10**9,
        "isMaster": key.config.is_master,
    }
    if key.config.sub_name:
        info["subName"] = key.config.sub_name
    return info


def decimal_param(ctx: Ctx, name: str) -> Decimal | None:
    """An optional positive decimal parameter."""
    text = ctx.param(name)
    if text is None or text == "":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise VENUE.bad_request(name) from None
    if not value.is_finite() or value <= 0:
        raise VENUE.bad_request(name)
    return value


def _on_step(value: Decimal, step: Decimal) -> bool:
    return (value % step) == 0


_TIF = {"GTC": "GTC", "GTT": "GTC", "IOC": "IOC", "FOK": "FOK"}


def validate_order(ctx: Ctx) -> OrderRequest:
    """Check an add-order request like ``POST /api/v1/hf/orders`` does; returns the parsed order."""
    asset = markets.find(markets.kucoin_spot_id, ctx.required("symbol"))
    if asset is None:
        raise kucoin_error("400600")
    side = ctx.required("side")
    order_type = ctx.param("type") or "limit"
    if side not in ("buy", "sell"):
        raise VENUE.bad_request("side")
    if order_type not in ("limit", "market"):
        raise VENUE.bad_request("type")
    size = decimal_param(ctx, "size")
    funds = decimal_param(ctx, "funds")
    price = decimal_param(ctx, "price")
    if order_type == "limit" and (price is None or size is None):
        raise VENUE.bad_request("price" if price is None else "size")
    if order_type == "market" and size is None and funds is None:
        raise VENUE.bad_request("size")
    if size is not None:
        if size < asset.min_amount:
            raise kucoin_error("400100", detail="Order size below the minimum requirement.")
        if not _on_step(size, markets.step(asset.amount_decimals)):
            raise kucoin_error("400100", detail="Order size increment invalid.")
    if price is not None and not _on_step(price, markets.step(asset.price_decimals)):
        raise kucoin_error("400100", detail="Price increment invalid.")
    tif = _TIF.get((ctx.param("timeInForce") or "GTC").upper())
    if tif is None:
        raise VENUE.bad_request("timeInForce")
    if ctx.param("postOnly") == "true":
        tif = "POST_ONLY"
    return OrderRequest(
        kind="spot",
        asset=asset,
        side=side,  # type: ignore[arg-type]
        type=order_type,  # type: ignore[arg-type]
        qty=size,
        price=price if order_type == "limit" else None,
        funds=funds if size is None else None,
        tif=tif,  # type: ignore[arg-type]
        client_id=ctx.param("clientOid"),
        api_key=ctx.signed_key.api_key,
    )


async def order_test(ctx: Ctx) -> dict[str, Any]:
    """``POST /api/v1/hf/orders/test`` (Spot): validates, never places an order."""
    ctx.require("Spot")
    order = validate_order(ctx)
    return {"orderId": uuid.uuid4().hex[:24], "clientOid": order.client_id}


def ticker_row(ctx: Ctx, asset: markets.Asset) -> dict[str, Any]:
    """One ``allTickers`` entry at the current price."""
    price = ctx.state.prices.price(asset.code)
    bid, ask = markets.bid_ask(price, markets.spot_tick(asset))
    return {
        "symbol": markets.kucoin_spot_id(asset),
        "symbolName": markets.kucoin_spot_id(asset),
        "buy": markets.fmt(bid),
        "bestBidSize": "1",
        "sell": markets.fmt(ask),
        "bestAskSize": "1",
        "changeRate": "0",
        "changePrice": "0",
        "high": markets.fmt(price),
        "low": markets.fmt(price),
        "vol": "1000",
        "volValue": markets.fmt(price * 1000),
        "last": markets.fmt(price),
        "averagePrice": markets.fmt(price),
        "takerFeeRate": markets.fmt(markets.KUCOIN_SPOT_TAKER),
        "makerFeeRate": markets.fmt(markets.KUCOIN_SPOT_MAKER),
        "takerCoefficient": "1",
        "makerCoefficient": "1",
    }


async def all_tickers(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/market/allTickers``."""
    return {"time": ctx.now_ms, "ticker": [ticker_row(ctx, a) for a in markets.ASSETS]}


def endpoints() -> list[Endpoint]:
    """Spot routes (phase 1: status, markets, accounts, introspection, test orders)."""
    v = VENUE
    return [
        Endpoint("GET", "/api/v1/timestamp", server_time, v),
        Endpoint("GET", "/api/v1/status", status, v),
        Endpoint("GET", "/api/v3/currencies", currencies, v, weight=3),
        Endpoint("GET", "/api/v2/symbols", symbols, v, weight=4),
        Endpoint("GET", "/api/v1/market/allTickers", all_tickers, v, weight=15),
        Endpoint(
            "GET",
            "/api/v3/margin/symbols",
            margin_symbols,
            v,
            private=True,
            permission="General",
            pool="spot",
            weight=3,
        ),
        Endpoint(
            "GET",
            "/api/v1/isolated/symbols",
            isolated_symbols,
            v,
            private=True,
            permission="General",
            pool="spot",
            weight=20,
        ),
        Endpoint(
            "GET",
            "/api/ua/v1/account/mode",
            account_mode,
            v,
            private=True,
            permission="General",
            pool="spot",
            weight=30,
        ),
        Endpoint(
            "GET",
            "/api/v1/hf/accounts/opened",
            hf_accounts_opened,
            v,
            private=True,
            permission="General",
            pool="spot",
            weight=2,
        ),
        Endpoint(
            "GET", "/api/v1/accounts", accounts, v, private=True, permission="General", pool="management", weight=5
        ),
        Endpoint("GET", "/api/v1/user/api-key", api_key_info, v, private=True, pool="management", weight=20),
        Endpoint("POST", "/api/v1/hf/orders/test", order_test, v, private=True, pool="spot", weight=1),
    ]
