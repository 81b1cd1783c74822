"""KuCoin spot orders (HF and classic), fills and market data
(https://www.kucoin.com/docs-new/rest/spot-trading/orders/add-order)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bf_sim import books, markets
from bf_sim.engine.orders import EngineError, Order, Reason
from bf_sim.errors import SimError, kucoin_error
from bf_sim.kucoin.spot import ticker_row, validate_order
from bf_sim.kucoin.venue import VENUE
from bf_sim.markets import fmt
from bf_sim.routing import Ctx, Endpoint


def engine_error(err: EngineError, hf: bool) -> SimError:
    """KuCoin's code for a refused spot order."""
    if err.reason is Reason.DUPLICATE_CLIENT_ID:
        # HF endpoints answer 126044; the classic ones 400100 (client reports).
        if hf:
            return kucoin_error("126044")
        return kucoin_error("400100", detail="validation.createOrder.clientOidDuplicated")
    if err.reason is Reason.INSUFFICIENT_BALANCE:
        return kucoin_error("200004")
    return kucoin_error("400100", detail=err.reason.value)


def order_json(order: Order, hf: bool = True) -> dict[str, Any]:
    """A spot order as the order-detail endpoints show it."""
    req = order.request
    done = not order.is_open
    remain = (req.qty - order.filled_qty) if req.qty is not None else Decimal(0)
    body: dict[str, Any] = {
        "id": order.order_id,
        "clientOid": order.client_id or "",
        "symbol": markets.kucoin_spot_id(order.asset),
        "opType": "DEAL",
        "type": req.type,
        "side": req.side,
        "price": fmt(req.price) if req.price is not None else "0",
        "size": fmt(req.qty) if req.qty is not None else "0",
        "funds": fmt(req.funds) if req.funds is not None else "0",
        "dealSize": fmt(order.filled_qty),
        "dealFunds": fmt(order.filled_quote),
        "fee": fmt(order.fee),
        "feeCurrency": markets.QUOTE,
        "stp": "",
        "timeInForce": "GTC" if req.tif == "POST_ONLY" else req.tif,
        "postOnly": req.tif == "POST_ONLY",
        "hidden": False,
        "iceberg": False,
        "visibleSize": "0",
        "cancelAfter": 0,
        "channel": "API",
        "remark": "",
        "tags": "",
        "cancelExist": order.canceled,
        "createdAt": order.created_ms,
        "tradeType": "TRADE",
    }
    if hf:
        body |= {
            "lastUpdatedAt": order.updated_ms,
            "inOrderBook": order.is_open,
            "cancelledSize": fmt(remain) if order.canceled else "0",
            "cancelledFunds": "0",
            "remainSize": "0" if done else fmt(remain),
            "remainFunds": "0",
            "active": order.is_open,
        }
    else:
        body |= {"stop": "", "stopTriggered": False, "stopPrice": "0", "isActive": order.is_open}
    return body


def asset_of(ctx: Ctx, required: bool = True) -> markets.Asset | None:
    symbol = ctx.required("symbol") if required else ctx.param("symbol")
    if symbol is None:
        return None
    asset = markets.find(markets.kucoin_spot_id, symbol)
    if asset is None:
        raise kucoin_error("400600")
    return asset


def place(ctx: Ctx, hf: bool) -> dict[str, Any]:
    """Place a spot order (Spot permission)."""
    ctx.require("Spot")
    req = validate_order(ctx)
    engine = ctx.state.engine
    try:
        # KuCoin accepts a post-only order that would take and cancels it at once.
        order = engine.place(ctx.account, req, post_only_rejects=False)
    except EngineError as err:
        raise engine_error(err, hf) from None
    return {"orderId": order.order_id, "clientOid": order.client_id or ""}


async def hf_place(ctx: Ctx) -> dict[str, Any]:
    """``POST /api/v1/hf/orders``."""
    return place(ctx, hf=True)


def _find_or_raise(ctx: Ctx, *, order_id: str | None = None, client_id: str | None = None) -> Order:
    order = ctx.state.engine.find(ctx.account, "spot", order_id=order_id, client_id=client_id)
    asset = asset_of(ctx, required=False)
    if order is None or (asset is not None and order.asset is not asset):
        raise kucoin_error("400100", detail="order_not_exist_or_not_allow_to_cancel")
    return order


def cancel(ctx: Ctx, order: Order) -> None:
    ctx.require("Spot")
    try:
        ctx.state.engine.cancel(ctx.account, order)
    except EngineError:
        raise kucoin_error("400100", detail="order_not_exist_or_not_allow_to_cancel") from None


async def hf_cancel(ctx: Ctx) -> dict[str, Any]:
    """``DELETE /api/v1/hf/orders/{orderId}?symbol=``."""
    order = _find_or_raise(ctx, order_id=ctx.path_param("orderId"))
    cancel(ctx, order)
    return {"orderId": order.order_id}


async def hf_cancel_by_client(ctx: Ctx) -> dict[str, Any]:
    """``DELETE /api/v1/hf/orders/client-order/{clientOid}?symbol=``."""
    order = _find_or_raise(ctx, client_id=ctx.path_param("clientOid"))
    cancel(ctx, order)
    return {"clientOid": order.client_id}


async def hf_cancel_all(ctx: Ctx) -> str:
    """``DELETE /api/v1/hf/orders?symbol=``."""
    ctx.require("Spot")
    asset = asset_of(ctx)
    for order in ctx.state.engine.account_orders(ctx.account, "spot", asset):
        if order.is_open:
            ctx.state.engine.cancel(ctx.account, order)
    return "success"


async def hf_active(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v1/hf/orders/active?symbol=``."""
    asset = asset_of(ctx, required=False)
    orders = ctx.state.engine.account_orders(ctx.account, "spot", asset)
    return [order_json(o) for o in reversed(orders) if o.is_open]


async def hf_done(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/hf/orders/done?symbol=``."""
    asset = asset_of(ctx, required=False)
    orders = ctx.state.engine.account_orders(ctx.account, "spot", asset)
    items = [order_json(o) for o in reversed(orders) if not o.is_open]
    return {"lastId": 0, "items": items[: int(ctx.param("limit") or 100)]}


async def hf_detail(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/hf/orders/{orderId}?symbol=``."""
    order = ctx.state.engine.find(ctx.account, "spot", order_id=ctx.path_param("orderId"))
    if order is None:
        raise kucoin_error("400100", detail="order not exist")
    return order_json(order)


async def hf_detail_by_client(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/hf/orders/client-order/{clientOid}?symbol=``."""
    order = ctx.state.engine.find(ctx.account, "spot", client_id=ctx.path_param("clientOid"))
    if order is None:
        raise kucoin_error("400100", detail="order not exist")
    return order_json(order)


def fill_rows(ctx: Ctx, asset: markets.Asset | None) -> list[dict[str, Any]]:
    """Spot fills, newest first."""
    rows = []
    for order, fill in reversed(ctx.state.engine.account_fills(ctx.account, "spot", asset)):
        rows.append(
            {
                "id": int(fill.trade_id, 16) % 10**15,
                "orderId": order.order_id,
                "counterOrderId": "",
                "tradeId": fill.trade_id,
                "symbol": markets.kucoin_spot_id(order.asset),
                "side": order.side,
                "liquidity": "maker" if fill.maker else "taker",
                "type": order.request.type,
                "forceTaker": False,
                "price": fmt(fill.price),
                "size": fmt(fill.qty),
                "funds": fmt(fill.quote),
                "fee": fmt(fill.fee),
                "feeRate": fmt(markets.KUCOIN_SPOT_MAKER if fill.maker else markets.KUCOIN_SPOT_TAKER),
                "feeCurrency": markets.QUOTE,
                "stop": "",
                "tradeType": "TRADE",
                "taxRate": "0",
                "tax": "0",
                "createdAt": fill.ts_ms,
            }
        )
    return rows


async def hf_fills(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/hf/fills?symbol=``."""
    rows = fill_rows(ctx, asset_of(ctx, required=False))
    return {"items": rows[: int(ctx.param("limit") or 100)], "lastId": 0}


async def market_stats(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/market/stats?symbol=`` (ccxt's spot fetch_ticker)."""
    asset = asset_of(ctx)
    assert asset is not None
    row = ticker_row(ctx, asset)
    return {"time": ctx.now_ms} | {
        k: v for k, v in row.items() if k not in ("symbolName", "bestBidSize", "bestAskSize")
    }


async def level1(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/market/orderbook/level1?symbol=``."""
    asset = asset_of(ctx)
    assert asset is not None
    price = ctx.state.prices.price(asset.code)
    bid, ask = markets.bid_ask(price, markets.spot_tick(asset))
    size = fmt(books.book_size(price))
    return {
        "time": ctx.now_ms,
        "sequence": str(ctx.state.prices.step_count + 1),
        "price": fmt(price),
        "size": "1",
        "bestBid": fmt(bid),
        "bestBidSize": size,
        "bestAsk": fmt(ask),
        "bestAskSize": size,
    }


async def level2(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/market/orderbook/level2_{20|100}`` and ``/api/v3/market/orderbook/level2``."""
    asset = asset_of(ctx)
    assert asset is not None
    price = ctx.state.prices.price(asset.code)
    bids, asks = books.depth(price, markets.spot_tick(asset), books.book_size(price))
    return {
        "time": ctx.now_ms,
        "sequence": str(ctx.state.prices.step_count + 1),
        "bids": [[fmt(p), fmt(q)] for p, q in bids],
        "asks": [[fmt(p), fmt(q)] for p, q in asks],
    }


def endpoints() -> list[Endpoint]:
    """HF spot trading and spot market-data routes (classic paths live in ``bf_sim.kucoin``)."""
    v = VENUE
    hf = "/api/v1/hf/orders"
    return [
        Endpoint("POST", hf, hf_place, v, private=True, pool="spot"),
        Endpoint("DELETE", hf, hf_cancel_all, v, private=True, pool="spot", weight=2),
        Endpoint("GET", f"{hf}/active", hf_active, v, private=True, permission="General", pool="spot", weight=2),
        Endpoint("GET", f"{hf}/done", hf_done, v, private=True, permission="General", pool="spot", weight=2),
        Endpoint(
            "GET",
            f"{hf}/client-order/{{clientOid}}",
            hf_detail_by_client,
            v,
            private=True,
            permission="General",
            pool="spot",
            weight=2,
        ),
        Endpoint("DELETE", f"{hf}/client-order/{{clientOid}}", hf_cancel_by_client, v, private=True, pool="spot"),
        Endpoint("GET", f"{hf}/{{orderId}}", hf_detail, v, private=True, permission="General", pool="spot", weight=2),
        Endpoint("DELETE", f"{hf}/{{orderId}}", hf_cancel, v, private=True, pool="spot"),
        Endpoint("GET", "/api/v1/hf/fills", hf_fills, v, private=True, permission="General", pool="spot", weight=2),
        Endpoint("GET", "/api/v1/market/stats", market_stats, v, weight=15),
        Endpoint("GET", "/api/v1/market/orderbook/level1", level1, v, weight=2),
        Endpoint("GET", "/api/v1/market/orderbook/level2_20", level2, v, weight=2),
        Endpoint("GET", "/api/v1/market/orderbook/level2_100", level2, v, weight=4),
        Endpoint(
            "GET",
            "/api/v3/market/orderbook/level2",
            level2,
            v,
            private=True,
            permission="General",
            pool="spot",
            weight=3,
        ),
    ]
