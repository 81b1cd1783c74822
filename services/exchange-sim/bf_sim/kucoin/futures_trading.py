"""KuCoin futures orders, fills, positions, leverage and market data
(https://www.kucoin.com/docs-new/rest/futures-trading/orders/add-order)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bf_sim import books, markets
from bf_sim.engine.orders import EngineError, Order, Position, Reason
from bf_sim.errors import SimError, kucoin_error
from bf_sim.kucoin.futures import read_permission, validate_order
from bf_sim.kucoin.venue import VENUE
from bf_sim.routing import Ctx, Endpoint

NS = 1_000_000  # KuCoin futures market data stamps in nanoseconds


def engine_error(err: EngineError) -> SimError:
    """KuCoin's code for a refused futures order."""
    if err.reason is Reason.DUPLICATE_CLIENT_ID:
        return kucoin_error("400100", detail="validation.createOrder.clientOidDuplicated")
    if err.reason is Reason.INSUFFICIENT_BALANCE:
        return kucoin_error("300003")
    if err.reason is Reason.NO_POSITION:
        return kucoin_error("300009")
    return kucoin_error("400100", detail=err.reason.value)


def asset_of(symbol: str | None) -> markets.Asset:
    """The asset of a futures symbol (``XBTUSDTM``) or KuCoin's symbol error."""
    asset = markets.find(markets.kucoin_futures_id, symbol)
    if asset is None:
        raise kucoin_error("400600")
    return asset


def order_json(ctx: Ctx, order: Order) -> dict[str, Any]:
    """A futures order as ``GET /api/v1/orders/{orderId}`` shows it."""
    req = order.request
    engine = ctx.state.engine
    price = req.price
    value = engine.notional(order.asset, order.qty, price or order.average or ctx.state.prices.price(order.asset.code))
    return {
        "id": order.order_id,
        "symbol": markets.kucoin_futures_id(order.asset),
        "type": req.type,
        "side": req.side,
        "price": markets.fmt(price) if price is not None else "0",
        "size": int(order.qty),
        "value": markets.fmt(value),
        "dealValue": markets.fmt(order.filled_quote),
        "dealSize": int(order.filled_qty),
        "stp": "",
        "stop": "",
        "stopPriceType": "",
        "stopTriggered": False,
        "stopPrice": None,
        "timeInForce": "GTC" if req.tif == "POST_ONLY" else req.tif,
        "postOnly": req.tif == "POST_ONLY",
        "hidden": False,
        "iceberg": False,
        "leverage": str(order.leverage),
        "forceHold": False,
        "closeOrder": False,
        "visibleSize": 0,
        "clientOid": order.client_id,
        "remark": None,
        "tags": "",
        "isActive": order.is_open,
        "cancelExist": order.canceled,
        "createdAt": order.created_ms,
        "updatedAt": order.updated_ms,
        "endAt": None if order.is_open else order.updated_ms,
        "orderTime": order.created_ms * NS,
        "settleCurrency": markets.QUOTE,
        "marginMode": req.margin_mode.upper(),
        "avgDealPrice": markets.fmt(order.average) if order.average is not None else "0",
        "filledSize": int(order.filled_qty),
        "filledValue": markets.fmt(order.filled_quote),
        "status": "open" if order.is_open else "done",
        "reduceOnly": req.reduce_only,
        "fee": markets.fmt(order.fee),
        "feeCurrency": markets.QUOTE,
    }


def place(ctx: Ctx) -> dict[str, Any]:
    """``POST /api/v1/orders`` for a futures symbol (Futures)."""
    ctx.require("Futures")
    req = validate_order(ctx)
    try:
        order = ctx.state.engine.place(ctx.account, req, post_only_rejects=False)
    except EngineError as err:
        raise engine_error(err) from None
    return {"orderId": order.order_id, "clientOid": order.client_id}


def find(ctx: Ctx, order_id: str) -> Order | None:
    """The account's futures order with this id."""
    return ctx.state.engine.find(ctx.account, "futures", order_id=order_id)


def cancel(ctx: Ctx, order: Order) -> dict[str, Any]:
    """``DELETE /api/v1/orders/{orderId}`` for a futures order (Futures)."""
    ctx.require("Futures")
    try:
        ctx.state.engine.cancel(ctx.account, order)
    except EngineError:
        raise SimError(400, {"code": "100004", "msg": "Order is in not cancelable state"}, code="100004") from None
    return {"cancelledOrderIds": [order.order_id]}


async def cancel_by_client(ctx: Ctx) -> dict[str, Any]:
    """``DELETE /api/v1/orders/client-order/{clientOid}?symbol=``."""
    order = ctx.state.engine.find(ctx.account, "futures", client_id=ctx.path_param("clientOid"))
    if order is None:
        raise kucoin_error("100001")
    cancel(ctx, order)
    return {"clientOid": order.client_id}


def cancel_all(ctx: Ctx, symbol: str | None) -> dict[str, Any]:
    """``DELETE /api/v1/orders?symbol=`` for futures (Futures)."""
    ctx.require("Futures")
    asset = asset_of(symbol) if symbol else None
    ids = []
    for order in ctx.state.engine.account_orders(ctx.account, "futures", asset):
        if order.is_open:
            ctx.state.engine.cancel(ctx.account, order)
            ids.append(order.order_id)
    return {"cancelledOrderIds": ids}


def page(items: list[Any], ctx: Ctx) -> dict[str, Any]:
    """KuCoin's paged list envelope."""
    size = int(ctx.param("pageSize") or 50)
    current = int(ctx.param("currentPage") or 1)
    chunk = items[(current - 1) * size : current * size]
    return {
        "currentPage": current,
        "pageSize": size,
        "totalNum": len(items),
        "totalPage": -(-len(items) // size),
        "items": chunk,
    }


def list_orders(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/orders?status=active|done&symbol=`` for futures."""
    symbol = ctx.param("symbol")
    asset = asset_of(symbol) if symbol else None
    status = ctx.param("status")
    orders = ctx.state.engine.account_orders(ctx.account, "futures", asset)
    if status == "active":
        orders = [o for o in orders if o.is_open]
    elif status == "done":
        orders = [o for o in orders if not o.is_open]
    return page([order_json(ctx, o) for o in reversed(orders)], ctx)


async def by_client_oid(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/orders/byClientOid?clientOid=``."""
    order = ctx.state.engine.find(ctx.account, "futures", client_id=ctx.required("clientOid"))
    if order is None:
        raise kucoin_error("100001")
    return order_json(ctx, order)


def fills(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/fills?symbol=`` for futures."""
    symbol = ctx.param("symbol")
    asset = asset_of(symbol) if symbol else None
    rows = []
    for order, fill in reversed(ctx.state.engine.account_fills(ctx.account, "futures", asset)):
        rate = markets.KUCOIN_SWAP_MAKER if fill.maker else markets.KUCOIN_SWAP_TAKER
        rows.append(
            {
                "symbol": markets.kucoin_futures_id(order.asset),
                "tradeId": fill.trade_id,
                "orderId": order.order_id,
                "side": order.side,
                "liquidity": "maker" if fill.maker else "taker",
                "forceTaker": False,
                "price": markets.fmt(fill.price),
                "size": int(fill.qty),
                "value": markets.fmt(fill.quote),
                "openFeePay": markets.fmt(fill.fee),
                "closeFeePay": "0",
                "stop": "",
                "feeRate": markets.fmt(rate),
                "fixFee": "0",
                "feeCurrency": markets.QUOTE,
                "tradeTime": fill.ts_ms * NS,
                "subTradeType": None,
                "marginMode": order.request.margin_mode.upper(),
                "settleCurrency": markets.QUOTE,
                "displayType": order.request.type,
                "fee": markets.fmt(fill.fee),
                "orderType": order.request.type,
                "tradeType": "trade",
                "createdAt": fill.ts_ms,
            }
        )
    return page(rows, ctx)


def position_json(ctx: Ctx, position: Position) -> dict[str, Any]:
    """A position as ``GET /api/v1/positions`` shows it."""
    engine = ctx.state.engine
    price = ctx.state.prices.price(position.asset.code)
    mult = position.asset.kucoin_multiplier
    cost = position.entry_price * position.qty * mult
    margin = engine.position_margin(position)
    unrealised = engine.unrealised(position)
    return {
        "id": position.position_id,
        "symbol": markets.kucoin_futures_id(position.asset),
        "crossMode": position.margin_mode == "cross",
        "maintMarginReq": 0.004,
        "delevPercentage": 0.0,
        "openingTimestamp": position.opened_ms,
        "currentTimestamp": ctx.now_ms,
        "currentQty": int(position.qty),
        "currentCost": float(cost),
        "currentComm": 0.0,
        "unrealisedCost": float(cost),
        "realisedGrossCost": 0.0,
        "realisedCost": 0.0,
        "isOpen": True,
        "markPrice": float(price),
        "markValue": float(price * position.qty * mult),
        "posCost": float(cost),
        "posInit": float(margin),
        "posMargin": float(margin),
        "posMaint": float(abs(cost) * Decimal("0.004")),
        "realisedGrossPnl": float(position.realised_pnl),
        "realisedPnl": float(position.realised_pnl),
        "unrealisedPnl": float(unrealised),
        "unrealisedPnlPcnt": float(unrealised / abs(cost)) if cost else 0.0,
        "unrealisedRoePcnt": float(unrealised / margin) if margin else 0.0,
        "avgEntryPrice": float(position.entry_price),
        "liquidationPrice": 0.0,
        "bankruptPrice": 0.0,
        "settleCurrency": markets.QUOTE,
        "isInverse": False,
        "maintainMargin": 0.004,
        "marginMode": position.margin_mode.upper(),
        "positionSide": "BOTH",
        "leverage": position.leverage,
    }


async def positions(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v1/positions``."""
    return [position_json(ctx, p) for p in ctx.state.engine.account_positions(ctx.account)]


async def position(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/position?symbol=``."""
    asset = asset_of(ctx.required("symbol"))
    found = ctx.state.engine.position(ctx.account, asset)
    if found is None:
        return {"symbol": markets.kucoin_futures_id(asset), "currentQty": 0, "isOpen": False}
    return position_json(ctx, found)


async def change_cross_leverage(ctx: Ctx) -> bool:
    """``POST /api/v2/changeCrossUserLeverage`` {symbol, leverage} (Futures)."""
    ctx.require("Futures")
    asset = asset_of(ctx.required("symbol"))
    try:
        ctx.state.engine.set_leverage(ctx.account, asset, int(Decimal(ctx.required("leverage"))))
    except (EngineError, ArithmeticError):
        raise kucoin_error("400100", detail="leverage is invalid") from None
    return True


async def get_cross_leverage(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v2/getCrossUserLeverage?symbol=``."""
    asset = asset_of(ctx.required("symbol"))
    return {
        "symbol": markets.kucoin_futures_id(asset),
        "leverage": str(ctx.state.engine.leverage_of(ctx.account, asset)),
    }


def _ticker(ctx: Ctx, asset: markets.Asset) -> dict[str, Any]:
    price = ctx.state.prices.price(asset.code)
    bid, ask = markets.bid_ask(price, asset.futures_tick)
    return {
        "sequence": ctx.state.prices.step_count + 1,
        "symbol": markets.kucoin_futures_id(asset),
        "side": "buy",
        "size": 1,
        "tradeId": str(ctx.state.prices.step_count + 1),
        "price": markets.fmt(price),
        "bestBidPrice": markets.fmt(bid),
        "bestBidSize": 100,
        "bestAskPrice": markets.fmt(ask),
        "bestAskSize": 100,
        "ts": ctx.now_ms * NS,
    }


async def ticker(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/ticker?symbol=``."""
    return _ticker(ctx, asset_of(ctx.required("symbol")))


async def all_tickers(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v1/allTickers``."""
    return [_ticker(ctx, a) for a in markets.ASSETS]


async def depth(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/level2/snapshot`` and ``/api/v1/level2/depth{20,100}``."""
    asset = asset_of(ctx.required("symbol"))
    price = ctx.state.prices.price(asset.code)
    bids, asks = books.depth(price, asset.futures_tick, Decimal(100))
    return {
        "symbol": markets.kucoin_futures_id(asset),
        "sequence": ctx.state.prices.step_count + 1,
        "asks": [[float(p), int(q)] for p, q in asks],
        "bids": [[float(p), int(q)] for p, q in bids],
        "ts": ctx.now_ms * NS,
    }


def endpoints() -> list[Endpoint]:
    """Futures-only trading routes (the ``/api/v1/orders`` family is dispatched in ``bf_sim.kucoin``)."""
    v = VENUE
    read = read_permission
    return [
        Endpoint(
            "DELETE", "/api/v1/orders/client-order/{clientOid}", cancel_by_client, v, private=True, pool="futures"
        ),
        Endpoint(
            "GET",
            "/api/v1/orders/byClientOid",
            by_client_oid,
            v,
            private=True,
            permission=read,
            pool="futures",
            weight=5,
        ),
        Endpoint("GET", "/api/v1/positions", positions, v, private=True, permission=read, pool="futures", weight=2),
        Endpoint("GET", "/api/v1/position", position, v, private=True, permission=read, pool="futures", weight=2),
        Endpoint(
            "POST", "/api/v2/changeCrossUserLeverage", change_cross_leverage, v, private=True, pool="futures", weight=2
        ),
        Endpoint(
            "GET",
            "/api/v2/getCrossUserLeverage",
            get_cross_leverage,
            v,
            private=True,
            permission=read,
            pool="futures",
            weight=2,
        ),
        Endpoint("GET", "/api/v1/ticker", ticker, v, weight=2),
        Endpoint("GET", "/api/v1/allTickers", all_tickers, v, weight=5),
        Endpoint("GET", "/api/v1/level2/snapshot", depth, v, weight=3),
        Endpoint("GET", "/api/v1/level2/depth20", depth, v, weight=5),
        Endpoint("GET", "/api/v1/level2/depth100", depth, v, weight=10),
    ]
