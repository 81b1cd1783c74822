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


async def account_overview(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/account-overview?currency=USDT``."""
    currency = ctx.param("currency") or "XBT"
    account = ctx.signed_key.account
    total = account.futures.get(currency, Decimal(0))
    order_margin = account.futures_locked.get(currency, Decimal(0))
    available = total - order_margin
    return {
        "accountEquity": float(total),
        "unrealisedPNL": 0.0,
        "marginBalance": float(total),
        "positionMargin": 0.0,
        "orderMargin": float(order_margin),
        "frozenFunds": 0.0,
        "availableBalance": float(available),
        "currency": currency,
        "riskRatio": 0.0,
        "maxWithdrawAmount": float(available),
    }


def validate_order(ctx: Ctx) -> dict[str, Any]:
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
    size = decimal_param(ctx, "size")
    if size is None or size != size.to_integral_value():
        raise VENUE.bad_request("size")
    price = decimal_param(ctx, "price")
    if order_type == "limit" and price is None:
        raise VENUE.bad_request("price")
    if price is not None and price % asset.futures_tick != 0:
        raise kucoin_error("400100", detail="Price increment invalid.")
    leverage = decimal_param(ctx, "leverage") or Decimal(1)
    if leverage > asset.max_leverage:
        raise kucoin_error("400100", detail="leverage is invalid")
    margin_mode = (ctx.param("marginMode") or "ISOLATED").upper()
    if margin_mode not in ("ISOLATED", "CROSS"):
        raise VENUE.bad_request("marginMode")
    return {
        "asset": asset,
        "side": side,
        "type": order_type,
        "size": int(size),
        "price": price,
        "leverage": leverage,
        "margin_mode": margin_mode,
        "reduce_only": ctx.param("reduceOnly") == "true",
        "close_order": ctx.param("closeOrder") == "true",
        "client_oid": client_oid,
    }


async def order_test(ctx: Ctx) -> dict[str, Any]:
    """``POST /api/v1/orders/test`` on the futures host (Futures): validates, never places an order."""
    ctx.require("Futures")
    order = validate_order(ctx)
    return {"orderId": uuid.uuid4().hex[:24], "clientOid": order["client_oid"]}


def endpoints() -> list[Endpoint]:
    """Futures-only routes (paths shared with spot are registered in ``bf_sim.kucoin``)."""
    v = VENUE
    return [
        Endpoint("GET", "/api/v1/contracts/active", contracts_active, v, weight=3),
        Endpoint(
            "GET", "/api/v1/account-overview", account_overview, v, private=True, permission=read_permission, pool="futures", weight=5
        ),
    ]
