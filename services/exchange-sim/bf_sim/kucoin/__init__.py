"""KuCoin: spot and futures on one simulator origin.

ccxt's ``kucoin`` (spot) and ``kucoinfutures`` both talk to this origin. Where their paths
collide (the classic ``/api/v1/orders`` family and ``/api/v1/fills``), the symbol decides:
futures contract ids end in ``M`` (``XBTUSDTM``), spot ids have a dash (``BTC-USDT``);
orders are found by id in either book. Without a symbol, the ``KC-API-PARTNER`` header ccxt
sends (``ccxtfutures`` for futures) is the hint, and futures is the default (spot accounts
trade through the HF endpoints).
"""

from __future__ import annotations

from typing import Any

from bf_sim.errors import kucoin_error
from bf_sim.kucoin import futures, futures_trading, spot, spot_trading
from bf_sim.kucoin.engine import make_engine
from bf_sim.kucoin.venue import VENUE
from bf_sim.routing import Ctx, Endpoint, Venue

__all__ = ["endpoints", "make_engine", "venue_for_path"]


def is_futures_symbol(symbol: str | None) -> bool:
    """``XBTUSDTM`` yes, ``BTC-USDT`` no."""
    return bool(symbol) and "-" not in (symbol or "") and (symbol or "").endswith("M")


def _futures(ctx: Ctx) -> bool:
    symbol = ctx.param("symbol")
    if symbol:
        return is_futures_symbol(symbol)
    partner = ctx.request.headers.get("KC-API-PARTNER", "")
    return "future" in partner.lower() or not partner


def _require_read(ctx: Ctx, is_futures: bool) -> None:
    ctx.require(futures.read_permission(ctx.state) if is_futures else "General")


async def orders_test(ctx: Ctx) -> dict[str, Any]:
    """``POST /api/v1/orders/test``: futures test order, or the classic spot one."""
    if is_futures_symbol(ctx.param("symbol")):
        return await futures.order_test(ctx)
    return await spot.order_test(ctx)


async def orders_post(ctx: Ctx) -> dict[str, Any]:
    """``POST /api/v1/orders``: a futures order, or a classic (non-HF) spot order."""
    if is_futures_symbol(ctx.param("symbol")):
        return futures_trading.place(ctx)
    return {"orderId": spot_trading.place(ctx, hf=False)["orderId"]}


async def orders_get(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/orders?status=&symbol=``."""
    is_futures = _futures(ctx)
    _require_read(ctx, is_futures)
    if is_futures:
        return futures_trading.list_orders(ctx)
    symbol = ctx.param("symbol")
    asset = spot_trading.asset_of(ctx, required=False) if symbol else None
    orders = ctx.state.engine.account_orders(ctx.account, "spot", asset)
    status = ctx.param("status")
    if status == "active":
        orders = [o for o in orders if o.is_open]
    elif status == "done":
        orders = [o for o in orders if not o.is_open]
    return futures_trading.page([spot_trading.order_json(o, hf=False) for o in reversed(orders)], ctx)


async def order_get(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/orders/{orderId}`` in either book."""
    order_id = ctx.path_param("orderId")
    found = futures_trading.find(ctx, order_id)
    if found is not None:
        _require_read(ctx, True)
        return futures_trading.order_json(ctx, found)
    spot_order = ctx.state.engine.find(ctx.account, "spot", order_id=order_id)
    if spot_order is not None:
        _require_read(ctx, False)
        return spot_trading.order_json(spot_order, hf=False)
    raise kucoin_error("100001")


async def order_delete(ctx: Ctx) -> dict[str, Any]:
    """``DELETE /api/v1/orders/{orderId}`` in either book."""
    order_id = ctx.path_param("orderId")
    found = futures_trading.find(ctx, order_id)
    if found is not None:
        return futures_trading.cancel(ctx, found)
    spot_order = ctx.state.engine.find(ctx.account, "spot", order_id=order_id)
    if spot_order is None:
        raise kucoin_error("400100", detail="order_not_exist_or_not_allow_to_cancel")
    spot_trading.cancel(ctx, spot_order)
    return {"cancelledOrderIds": [spot_order.order_id]}


async def orders_delete(ctx: Ctx) -> dict[str, Any]:
    """``DELETE /api/v1/orders?symbol=``: cancel every open order (of that symbol)."""
    if _futures(ctx):
        return futures_trading.cancel_all(ctx, ctx.param("symbol"))
    ctx.require("Spot")
    asset = spot_trading.asset_of(ctx, required=False)
    ids = []
    for order in ctx.state.engine.account_orders(ctx.account, "spot", asset):
        if order.is_open:
            ctx.state.engine.cancel(ctx.account, order)
            ids.append(order.order_id)
    return {"cancelledOrderIds": ids}


async def fills_get(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/fills?symbol=``: futures fills, or classic spot fills."""
    is_futures = _futures(ctx)
    _require_read(ctx, is_futures)
    if is_futures:
        return futures_trading.fills(ctx)
    return futures_trading.page(spot_trading.fill_rows(ctx, spot_trading.asset_of(ctx, required=False)), ctx)


def endpoints() -> list[Endpoint]:
    """Every KuCoin route the simulator serves."""
    v = VENUE
    shared = [
        Endpoint("POST", "/api/v1/orders/test", orders_test, v, private=True, pool="futures", weight=2),
        Endpoint("POST", "/api/v1/orders", orders_post, v, private=True, pool="futures", weight=2),
        Endpoint("GET", "/api/v1/orders", orders_get, v, private=True, pool="futures", weight=2),
        Endpoint("DELETE", "/api/v1/orders", orders_delete, v, private=True, pool="futures", weight=10),
        Endpoint("GET", "/api/v1/fills", fills_get, v, private=True, pool="futures", weight=5),
    ]
    # Static paths first: aiohttp matches in registration order.
    by_id = [
        Endpoint("GET", "/api/v1/orders/{orderId}", order_get, v, private=True, pool="futures", weight=2),
        Endpoint("DELETE", "/api/v1/orders/{orderId}", order_delete, v, private=True, pool="futures"),
    ]
    return (
        spot.endpoints() + spot_trading.endpoints() + futures.endpoints() + futures_trading.endpoints() + shared + by_id
    )


def venue_for_path(path: str) -> Venue:
    """KuCoin has one wire convention for every path."""
    return VENUE
