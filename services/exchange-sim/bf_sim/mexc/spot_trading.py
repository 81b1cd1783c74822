"""MEXC spot orders, trades and market data (https://www.mexc.com/api-docs/spot-v3/spot-account-trade)."""

from __future__ import annotations

from typing import Any

from bf_sim import books, markets
from bf_sim.engine.orders import EngineError, Order, Reason
from bf_sim.errors import SimError, mexc_spot_error
from bf_sim.markets import fmt
from bf_sim.mexc.spot import VENUE, validate_order
from bf_sim.routing import Ctx, Endpoint

_STATUS = {"filled": "FILLED", "canceled": "CANCELED"}
_TYPE = {"POST_ONLY": "LIMIT_MAKER", "IOC": "IMMEDIATE_OR_CANCEL", "FOK": "FILL_OR_KILL", "GTC": "LIMIT"}


def engine_error(err: EngineError, side: str) -> SimError:
    """MEXC's code for a refused order."""
    if err.reason is Reason.DUPLICATE_CLIENT_ID:
        # UNCONFIRMED: MEXC does not document its duplicate-client-id code; Binance's is used.
        return mexc_spot_error(-2010)
    if err.reason is Reason.INSUFFICIENT_BALANCE:
        return mexc_spot_error(10101 if side == "buy" else 30005)
    if err.reason is Reason.WOULD_TAKE:
        return mexc_spot_error(-2010, msg="Order would immediately match and take.")
    return mexc_spot_error(-2011)


def _raw_type(order: Order) -> str:
    return "MARKET" if order.request.type == "market" else _TYPE[order.request.tif]


def _status(order: Order) -> str:
    if order.status == "open":
        return "PARTIALLY_FILLED" if order.filled_qty else "NEW"
    return _STATUS[order.status]


def order_json(order: Order) -> dict[str, Any]:
    """An order as ``GET /api/v3/order`` shows it."""
    req = order.request
    return {
        "symbol": markets.mexc_spot_id(order.asset),
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_id,
        "price": fmt(req.price) if req.price is not None else "0",
        "origQty": fmt(req.qty) if req.qty is not None else "0",
        "executedQty": fmt(order.filled_qty),
        "cummulativeQuoteQty": fmt(order.filled_quote),
        "status": _status(order),
        "timeInForce": None,
        "type": _raw_type(order),
        "side": req.side.upper(),
        "stopPrice": None,
        "icebergQty": None,
        "time": order.created_ms,
        "updateTime": order.updated_ms,
        "isWorking": order.is_open,
        "origQuoteOrderQty": fmt(req.funds) if req.funds is not None else "0",
    }


def _asset(ctx: Ctx, required: bool = True) -> markets.Asset | None:
    symbol = ctx.required("symbol") if required else ctx.param("symbol")
    if symbol is None:
        return None
    asset = markets.find(markets.mexc_spot_id, symbol)
    if asset is None:
        raise mexc_spot_error(-1121)
    return asset


def _find(ctx: Ctx) -> Order:
    asset = _asset(ctx)
    order_id, client_id = ctx.param("orderId"), ctx.param("origClientOrderId")
    if not order_id and not client_id:
        raise mexc_spot_error(
            700004, msg="Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
        )
    order = ctx.state.engine.find(
        ctx.account, "spot", order_id=order_id or None, client_id=None if order_id else client_id
    )
    if order is None or order.asset is not asset:
        raise mexc_spot_error(-2011)
    return order


async def new_order(ctx: Ctx) -> dict[str, Any]:
    """``POST /api/v3/order`` (SPOT_DEAL_WRITE)."""
    req = validate_order(ctx)
    try:
        order = ctx.state.engine.place(ctx.account, req)
    except EngineError as err:
        raise engine_error(err, req.side) from None
    return {
        "symbol": markets.mexc_spot_id(order.asset),
        "orderId": order.order_id,
        "orderListId": -1,
        "price": fmt(req.price) if req.price is not None else "0",
        "origQty": fmt(order.qty),
        "type": _raw_type(order),
        "side": req.side.upper(),
        "transactTime": order.created_ms,
    }


async def cancel_order(ctx: Ctx) -> dict[str, Any]:
    """``DELETE /api/v3/order`` (SPOT_DEAL_WRITE)."""
    order = _find(ctx)
    try:
        ctx.state.engine.cancel(ctx.account, order)
    except EngineError:
        raise mexc_spot_error(-2011) from None
    return order_json(order) | {"origClientOrderId": order.client_id}


async def cancel_open_orders(ctx: Ctx) -> list[dict[str, Any]]:
    """``DELETE /api/v3/openOrders?symbol=`` (SPOT_DEAL_WRITE)."""
    asset = _asset(ctx)
    engine = ctx.state.engine
    out = []
    for order in engine.account_orders(ctx.account, "spot", asset):
        if order.is_open:
            engine.cancel(ctx.account, order)
            out.append(order_json(order))
    return out


async def open_orders(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v3/openOrders`` (SPOT_DEAL_READ)."""
    asset = _asset(ctx, required=False)
    return [order_json(o) for o in ctx.state.engine.account_orders(ctx.account, "spot", asset) if o.is_open]


async def query_order(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v3/order`` (SPOT_DEAL_READ)."""
    return order_json(_find(ctx))


async def all_orders(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v3/allOrders?symbol=`` (SPOT_DEAL_READ)."""
    asset = _asset(ctx)
    orders = ctx.state.engine.account_orders(ctx.account, "spot", asset)
    limit = int(ctx.param("limit") or 500)
    return [order_json(o) for o in orders][-limit:]


async def my_trades(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v3/myTrades?symbol=`` (SPOT_DEAL_READ)."""
    asset = _asset(ctx)
    out = []
    for order, fill in ctx.state.engine.account_fills(ctx.account, "spot", asset):
        out.append(
            {
                "symbol": markets.mexc_spot_id(order.asset),
                "id": fill.trade_id,
                "orderId": order.order_id,
                "orderListId": -1,
                "price": fmt(fill.price),
                "qty": fmt(fill.qty),
                "quoteQty": fmt(fill.quote),
                "commission": fmt(fill.fee),
                "commissionAsset": markets.QUOTE,
                "time": fill.ts_ms,
                "isBuyer": order.side == "buy",
                "isMaker": fill.maker,
                "isBestMatch": True,
                "isSelfTrade": False,
                "clientOrderId": order.client_id,
            }
        )
    limit = int(ctx.param("limit") or 100)
    return out[-limit:]


def _ticker(ctx: Ctx, asset: markets.Asset) -> dict[str, Any]:
    price = ctx.state.prices.price(asset.code)
    bid, ask = markets.bid_ask(price, markets.spot_tick(asset))
    size = books.book_size(price)
    now = ctx.now_ms
    return {
        "symbol": markets.mexc_spot_id(asset),
        "priceChange": "0",
        "priceChangePercent": "0",
        "prevClosePrice": fmt(price),
        "lastPrice": fmt(price),
        "bidPrice": fmt(bid),
        "bidQty": fmt(size),
        "askPrice": fmt(ask),
        "askQty": fmt(size),
        "openPrice": fmt(price),
        "highPrice": fmt(price),
        "lowPrice": fmt(price),
        "volume": fmt(size * 100),
        "quoteVolume": fmt(size * 100 * price),
        "openTime": now - 86_400_000,
        "closeTime": now,
        "count": None,
    }


async def ticker_24hr(ctx: Ctx) -> Any:
    """``GET /api/v3/ticker/24hr`` (one object with ``symbol``, else a list)."""
    asset = _asset(ctx, required=False)
    if asset is not None:
        return _ticker(ctx, asset)
    return [_ticker(ctx, a) for a in markets.ASSETS]


async def ticker_price(ctx: Ctx) -> Any:
    """``GET /api/v3/ticker/price``."""
    asset = _asset(ctx, required=False)
    rows = [
        {"symbol": markets.mexc_spot_id(a), "price": fmt(ctx.state.prices.price(a.code))}
        for a in ([asset] if asset else markets.ASSETS)
    ]
    return rows[0] if asset else rows


async def book_ticker(ctx: Ctx) -> Any:
    """``GET /api/v3/ticker/bookTicker``."""
    asset = _asset(ctx, required=False)
    rows = []
    for a in [asset] if asset else markets.ASSETS:
        t = _ticker(ctx, a)
        rows.append({k: t[k] for k in ("symbol", "bidPrice", "bidQty", "askPrice", "askQty")})
    return rows[0] if asset else rows


async def order_book(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v3/depth?symbol=&limit=``."""
    asset = _asset(ctx)
    assert asset is not None
    price = ctx.state.prices.price(asset.code)
    limit = min(int(ctx.param("limit") or books.DEPTH_LEVELS), 5000)
    bids, asks = books.depth(price, markets.spot_tick(asset), books.book_size(price), min(limit, 20))
    return {
        "lastUpdateId": ctx.state.prices.step_count + 1,
        "bids": [[fmt(p), fmt(q)] for p, q in bids],
        "asks": [[fmt(p), fmt(q)] for p, q in asks],
        "timestamp": ctx.now_ms,
    }


def endpoints() -> list[Endpoint]:
    """Spot trading and market-data routes."""
    v = VENUE
    write, read = "SPOT_DEAL_WRITE", "SPOT_DEAL_READ"
    return [
        Endpoint("POST", "/api/v3/order", new_order, v, private=True, permission=write),
        Endpoint("DELETE", "/api/v3/order", cancel_order, v, private=True, permission=write),
        Endpoint("DELETE", "/api/v3/openOrders", cancel_open_orders, v, private=True, permission=write),
        Endpoint("GET", "/api/v3/order", query_order, v, private=True, permission=read, weight=2),
        Endpoint("GET", "/api/v3/openOrders", open_orders, v, private=True, permission=read, weight=3),
        Endpoint("GET", "/api/v3/allOrders", all_orders, v, private=True, permission=read, weight=10),
        Endpoint("GET", "/api/v3/myTrades", my_trades, v, private=True, permission=read, weight=10),
        Endpoint("GET", "/api/v3/ticker/24hr", ticker_24hr, v, weight=1),
        Endpoint("GET", "/api/v3/ticker/price", ticker_price, v, weight=1),
        Endpoint("GET", "/api/v3/ticker/bookTicker", book_ticker, v, weight=1),
        Endpoint("GET", "/api/v3/depth", order_book, v, weight=1),
    ]
