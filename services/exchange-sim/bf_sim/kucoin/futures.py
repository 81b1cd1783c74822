"""KuCoin futures endpoints (https://www.kucoin.com/docs-new/rest/futures-trading/market-data/introduction).

In the real deployment these live on ``api-futures.kucoin.com``; here they share the spot
origin, so the paths both APIs use are dispatched in ``bf_sim.kucoin``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from bf_sim import markets
from bf_sim.config import KucoinConfig
from bf_sim.engine.orders import OrderRequest
from bf_sim.errors import kucoin_error
from bf_sim.kucoin.spot import decimal_param
from bf_sim.kucoin.venue import VENUE
from bf_sim.routing import Ctx, Endpoint
from bf_sim.state import ExchangeState


def read_permission(state: ExchangeState) -> str:
    """The permission futures reads need ("General" as KuCoin documents it, configurable)."""
    assert isinstance(state.config, KucoinConfig)
    return state.config.futures_read_permission


async def contracts_active(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v1/contracts/active``."""
    return markets.kucoin_contracts(ctx.state.prices.price, ctx.now_ms)


async def contract_one(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/contracts/{symbol}``: one contract, same fields as the active list
    (https://www.kucoin.com/docs-new/rest/futures-trading/market-data/get-symbol). The
    connector's futures test order reads its lot, tick and last price from here."""
    symbol = ctx.path_param("symbol")
    for contract in markets.kucoin_contracts(ctx.state.prices.price, ctx.now_ms):
        if contract["symbol"] == symbol:
            return contract
    raise kucoin_error("400100", detail="contract does not exist")


async def account_overview(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/account-overview?currency=USDT``."""
    currency = ctx.param("currency") or "XBT"
    account = ctx.signed_key.account
    if currency == markets.QUOTE:
        s = ctx.state.engine.futures_summary(account)
    else:
        cash = account.futures.get(currency, Decimal(0))
        s = {
            "cash": cash,
            "order_margin": Decimal(0),
            "position_margin": Decimal(0),
            "unrealised": Decimal(0),
            "equity": cash,
            "available": cash,
        }
    return {
        "accountEquity": float(s["equity"]),
        "unrealisedPNL": float(s["unrealised"]),
        "marginBalance": float(s["cash"]),
        "positionMargin": float(s["position_margin"]),
        "orderMargin": float(s["order_margin"]),
        "frozenFunds": 0.0,
        "availableBalance": float(s["available"]),
        "currency": currency,
        "riskRatio": 0.0,
        "maxWithdrawAmount": float(s["available"]),
    }


def validate_order(ctx: Ctx) -> OrderRequest:
    """Check a futures add-order request like ``POST /api/v1/orders`` does."""
    client_oid = ctx.required("clientOid")
    asset = markets.find(markets.kucoin_futures_id, ctx.required("symbol"))
    if asset is None:
        raise kucoin_error("400600")
    side = ctx.required("side")
    if side not in ("buy", "sell"):
        raise VENUE.bad_request("side")
    order_type = ctx.param("type") or "limit"
    if order_type not in ("limit", "market"):
        raise VENUE.bad_request("type")
    price = decimal_param(ctx, "price")
    if order_type == "limit" and price is None:
        raise VENUE.bad_request("price")
    if price is not None and price % asset.futures_tick != 0:
        raise kucoin_error("400100", detail="Price increment invalid.")
    size = decimal_param(ctx, "size")
    value_qty = decimal_param(ctx, "valueQty")
    if size is None and value_qty is not None:
        reference = price or ctx.state.prices.price(asset.code)
        size = (value_qty / (asset.kucoin_multiplier * reference)).to_integral_value(rounding="ROUND_DOWN")
    if size is None or size < 1 or size != size.to_integral_value():
        raise VENUE.bad_request("size")
    leverage = decimal_param(ctx, "leverage") or Decimal(1)
    if leverage > asset.max_leverage or leverage != leverage.to_integral_value():
        raise kucoin_error("400100", detail="leverage is invalid")
    margin_mode = (ctx.param("marginMode") or "ISOLATED").upper()
    if margin_mode not in ("ISOLATED", "CROSS"):
        raise VENUE.bad_request("marginMode")
    tif = (ctx.param("timeInForce") or "GTC").upper()
    if tif not in ("GTC", "IOC"):
        raise VENUE.bad_request("timeInForce")
    if ctx.param("postOnly") == "true":
        tif = "POST_ONLY"
    return OrderRequest(
        kind="futures",
        asset=asset,
        side=side,  # type: ignore[arg-type]
        type=order_type,  # type: ignore[arg-type]
        qty=size,
        price=price if order_type == "limit" else None,
        tif=tif,  # type: ignore[arg-type]
        client_id=client_oid,
        leverage=int(leverage),
        reduce_only=ctx.param("reduceOnly") == "true" or ctx.param("closeOrder") == "true",
        margin_mode="cross" if margin_mode == "CROSS" else "isolated",
        api_key=ctx.signed_key.api_key,
    )


async def order_test(ctx: Ctx) -> dict[str, Any]:
    """``POST /api/v1/orders/test`` on the futures host (Futures): validates, never places an order."""
    ctx.require("Futures")
    order = validate_order(ctx)
    return {"orderId": uuid.uuid4().hex[:24], "clientOid": order.client_id}


def endpoints() -> list[Endpoint]:
    """Futures-only routes (paths shared with spot are registered in ``bf_sim.kucoin``)."""
    v = VENUE
    return [
        Endpoint("GET", "/api/v1/contracts/active", contracts_active, v, weight=3),
        # After the static path: aiohttp matches in registration order.
        Endpoint("GET", "/api/v1/contracts/{symbol}", contract_one, v, weight=3),
        Endpoint(
            "GET",
            "/api/v1/account-overview",
            account_overview,
            v,
            private=True,
            permission=read_permission,
            pool="futures",
            weight=5,
        ),
    ]
