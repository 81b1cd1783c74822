"""MEXC futures orders, positions, leverage and market data
(https://www.mexc.com/api-docs/futures/account-and-trading-endpoints).

Order ``side``: 1 open long, 2 close short, 3 open short, 4 close long. ``type``: 1 limit,
2 post-only, 3 IOC, 4 FOK, 5 market, 6 market converted to the current price. ``openType``:
1 isolated, 2 cross. Order ``state``: 2 working, 3 filled, 4 canceled.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from bf_sim import books, markets
from bf_sim.engine.orders import EngineError, Order, OrderRequest, Position, Reason
from bf_sim.errors import SimError, mexc_contract_error
from bf_sim.mexc.contract import VENUE
from bf_sim.routing import Ctx, Endpoint

_SIDES = {1: ("buy", False), 2: ("buy", True), 3: ("sell", False), 4: ("sell", True)}
_TYPES = {
    1: ("limit", "GTC"),
    2: ("limit", "POST_ONLY"),
    3: ("limit", "IOC"),
    4: ("limit", "FOK"),
    5: ("market", "GTC"),
    6: ("market", "GTC"),
}
_STATE = {"open": 2, "filled": 3, "canceled": 4}


def engine_error(err: EngineError) -> SimError:
    """MEXC futures code for a refused order."""
    codes = {
        Reason.INSUFFICIENT_BALANCE: 2005,
        Reason.NO_POSITION: 2009,
        Reason.BAD_LEVERAGE: 600,
        # UNCONFIRMED: MEXC does not document a duplicate-externalOid code.
        Reason.DUPLICATE_CLIENT_ID: 603,
        Reason.WOULD_TAKE: 2011,
    }
    return mexc_contract_error(codes.get(err.reason, 2040))


def _int(ctx: Ctx, name: str, default: int | None = None) -> int:
    text = ctx.param(name)
    if text is None:
        if default is None:
            raise VENUE.bad_request(name)
        return default
    try:
        return int(Decimal(text))
    except (InvalidOperation, ValueError):
        raise VENUE.bad_request(name) from None


def _asset(symbol: str | None) -> markets.Asset:
    asset = markets.find(markets.mexc_contract_id, symbol)
    if asset is None:
        raise mexc_contract_error(1001)
    return asset


def order_request(ctx: Ctx) -> OrderRequest:
    """Parse ``POST /api/v1/private/order/create``'s JSON body."""
    asset = _asset(ctx.required("symbol"))
    side_code, type_code, open_type = _int(ctx, "side"), _int(ctx, "type"), _int(ctx, "openType")
    if side_code not in _SIDES or type_code not in _TYPES or open_type not in (1, 2):
        raise VENUE.bad_request("side/type/openType")
    vol_text = ctx.required("vol")
    try:
        vol = Decimal(vol_text)
    except InvalidOperation:
        raise VENUE.bad_request("vol") from None
    if vol < 1 or vol != vol.to_integral_value():
        raise mexc_contract_error(2011)
    engine_type, tif = _TYPES[type_code]
    price: Decimal | None = None
    if engine_type == "limit":
        try:
            price = Decimal(ctx.required("price"))
        except InvalidOperation:
            raise VENUE.bad_request("price") from None
        if price <= 0 or price % asset.futures_tick != 0:
            raise mexc_contract_error(600)
    leverage = ctx.param("leverage")
    if open_type == 1 and leverage is None:
        raise VENUE.bad_request("leverage")
    side, reduce_only = _SIDES[side_code]
    return OrderRequest(
        kind="futures",
        asset=asset,
        side=side,  # type: ignore[arg-type]
        type=engine_type,  # type: ignore[arg-type]
        qty=vol,
        price=price,
        tif=tif,  # type: ignore[arg-type]
        client_id=ctx.param("externalOid"),
        leverage=int(Decimal(leverage)) if leverage is not None else None,
        reduce_only=reduce_only or ctx.param("reduceOnly") == "true",
        margin_mode="isolated" if open_type == 1 else "cross",
        api_key=ctx.signed_key.api_key,
    )


def _side_code(order: Order) -> int:
    if order.side == "buy":
        return 2 if order.request.reduce_only else 1
    return 4 if order.request.reduce_only else 3


def _type_code(order: Order) -> int:
    if order.request.type == "market":
        return 5
    return {"GTC": 1, "POST_ONLY": 2, "IOC": 3, "FOK": 4}[order.request.tif]


def order_json(ctx: Ctx, order: Order) -> dict[str, Any]:
    """A futures order as ``GET /api/v1/private/order/get/{order_id}`` shows it."""
    engine = ctx.state.engine
    taker = sum((f.fee for f in order.fills if not f.maker), Decimal(0))
    maker = order.fee - taker
    price = order.request.price or (order.average or Decimal(0))
    return {
        "orderId": order.order_id,
        "symbol": markets.mexc_contract_id(order.asset),
        "positionId": 0,
        "price": float(price),
        "vol": float(order.qty),
        "leverage": order.leverage,
        "side": _side_code(order),
        "category": 1,
        "orderType": _type_code(order),
        "dealAvgPrice": float(order.average or 0),
        "dealVol": float(order.filled_qty),
        "orderMargin": float(engine.notional(order.asset, order.qty, price) / order.leverage),
        "takerFee": float(taker),
        "makerFee": float(maker),
        "profit": float(sum((f.realised_pnl for f in order.fills), Decimal(0))),
        "feeCurrency": markets.QUOTE,
        "openType": 1 if order.request.margin_mode == "isolated" else 2,
        "state": _STATE[order.status],
        "externalOid": order.client_id,
        "errorCode": 0,
        "usedMargin": float(engine.notional(order.asset, order.filled_qty, order.average or price) / order.leverage),
        "createTime": order.created_ms,
        "updateTime": order.updated_ms,
        "positionMode": 2,
    }


async def create_order(ctx: Ctx) -> dict[str, Any]:
    """``POST /api/v1/private/order/create`` (CONTRACT_DEAL_WRITE)."""
    req = order_request(ctx)
    try:
        order = ctx.state.engine.place(ctx.account, req)
    except EngineError as err:
        raise engine_error(err) from None
    return {"orderId": order.order_id, "ts": order.created_ms}


async def submit_order(ctx: Ctx) -> str:
    """``POST /api/v1/private/order/submit``: the older form, answering the bare order id."""
    return str((await create_order(ctx))["orderId"])


async def cancel_orders(ctx: Ctx) -> list[dict[str, Any]]:
    """``POST /api/v1/private/order/cancel`` with a JSON array of order ids."""
    engine = ctx.state.engine
    out = []
    for raw_id in ctx.json_list:
        order = engine.find(ctx.account, "futures", order_id=str(raw_id))
        if order is None or not order.is_open:
            out.append({"orderId": str(raw_id), "errorCode": 2040, "errorMsg": "order not exist"})
            continue
        engine.cancel(ctx.account, order)
        out.append({"orderId": order.order_id, "errorCode": 0, "errorMsg": "success"})
    return out


async def cancel_all(ctx: Ctx) -> None:
    """``POST /api/v1/private/order/cancel_all`` (optionally one ``symbol``)."""
    symbol = ctx.param("symbol")
    asset = _asset(symbol) if symbol else None
    engine = ctx.state.engine
    for order in engine.account_orders(ctx.account, "futures", asset):
        if order.is_open:
            engine.cancel(ctx.account, order)
    return None


def _orders(ctx: Ctx, symbol: str | None) -> list[Order]:
    asset = _asset(symbol) if symbol and symbol != "{symbol}" else None
    return ctx.state.engine.account_orders(ctx.account, "futures", asset)


async def open_orders(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v1/private/order/list/open_orders[/{symbol}]``."""
    symbol = ctx.request.match_info.get("symbol") or ctx.param("symbol")
    return [order_json(ctx, o) for o in _orders(ctx, symbol) if o.is_open]


async def history_orders(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v1/private/order/list/history_orders?symbol=&states=``."""
    states = {int(s) for s in (ctx.param("states") or "").split(",") if s.strip()}
    rows = [order_json(ctx, o) for o in _orders(ctx, ctx.param("symbol"))]
    return [r for r in rows if not states or r["state"] in states][::-1]


async def get_order(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/private/order/get/{order_id}``."""
    order = ctx.state.engine.find(ctx.account, "futures", order_id=ctx.path_param("order_id"))
    if order is None:
        raise mexc_contract_error(2040)
    return order_json(ctx, order)


async def get_external(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/private/order/external/{symbol}/{external_oid}``."""
    order = ctx.state.engine.find(ctx.account, "futures", client_id=ctx.path_param("external_oid"))
    if order is None or markets.mexc_contract_id(order.asset) != ctx.path_param("symbol"):
        raise mexc_contract_error(2040)
    return order_json(ctx, order)


async def order_deals(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v1/private/order/list/order_deals?symbol=``."""
    symbol = ctx.param("symbol")
    asset = _asset(symbol) if symbol else None
    out = []
    for order, fill in ctx.state.engine.account_fills(ctx.account, "futures", asset):
        out.append(
            {
                "id": fill.trade_id,
                "symbol": markets.mexc_contract_id(order.asset),
                "side": _side_code(order),
                "vol": float(fill.qty),
                "price": float(fill.price),
                "feeCurrency": markets.QUOTE,
                "fee": float(fill.fee),
                "timestamp": fill.ts_ms,
                "profit": float(fill.realised_pnl),
                "category": 1,
                "orderId": order.order_id,
                "positionMode": 2,
                "isTaker": not fill.maker,
            }
        )
    return out[::-1]


def position_json(ctx: Ctx, position: Position) -> dict[str, Any]:
    """An open position as ``GET /api/v1/private/position/open_positions`` shows it."""
    engine = ctx.state.engine
    margin = engine.position_margin(position)
    return {
        "positionId": int(position.position_id),
        "symbol": markets.mexc_contract_id(position.asset),
        "positionType": 1 if position.qty > 0 else 2,
        "openType": 1 if position.margin_mode == "isolated" else 2,
        "state": 1,
        "holdVol": float(abs(position.qty)),
        "frozenVol": 0,
        "closeVol": 0,
        "holdAvgPrice": float(position.entry_price),
        "openAvgPrice": float(position.entry_price),
        "closeAvgPrice": 0,
        "liquidatePrice": 0,
        "oim": float(margin),
        "im": float(margin),
        "holdFee": 0,
        "realised": float(position.realised_pnl),
        "unRealizedPnl": float(engine.unrealised(position)),
        "leverage": position.leverage,
        "createTime": position.opened_ms,
        "updateTime": position.updated_ms,
        "autoAddIm": False,
    }


async def open_positions(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v1/private/position/open_positions`` (optionally one ``symbol``)."""
    symbol = ctx.param("symbol")
    rows = [position_json(ctx, p) for p in ctx.state.engine.account_positions(ctx.account)]
    return [r for r in rows if not symbol or r["symbol"] == symbol]


async def change_leverage(ctx: Ctx) -> None:
    """``POST /api/v1/private/position/change_leverage`` ({symbol, leverage, openType} or {positionId, leverage})."""
    leverage = _int(ctx, "leverage")
    symbol = ctx.param("symbol")
    if symbol is None:
        position_id = ctx.param("positionId")
        match = [p for p in ctx.state.engine.account_positions(ctx.account) if p.position_id == position_id]
        if not match:
            raise mexc_contract_error(2009)
        asset = match[0].asset
    else:
        asset = _asset(symbol)
    try:
        ctx.state.engine.set_leverage(ctx.account, asset, leverage)
    except EngineError as err:
        raise engine_error(err) from None
    return None


async def get_leverage(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v1/private/position/leverage?symbol=``."""
    asset = _asset(ctx.required("symbol"))
    leverage = ctx.state.engine.leverage_of(ctx.account, asset)
    return [
        {
            "level": 1,
            "maxVol": 1000000,
            "mmr": 0.004,
            "imr": round(1 / leverage, 4),
            "positionType": t,
            "openType": 2,
            "leverage": leverage,
            "limitBySys": False,
            "currentMmr": 0.004,
        }
        for t in (1, 2)
    ]


def _ticker(ctx: Ctx, asset: markets.Asset) -> dict[str, Any]:
    price = ctx.state.prices.price(asset.code)
    bid, ask = markets.bid_ask(price, asset.futures_tick)
    return {
        "contractId": markets.ASSETS.index(asset) + 1,
        "symbol": markets.mexc_contract_id(asset),
        "lastPrice": float(price),
        "bid1": float(bid),
        "ask1": float(ask),
        "volume24": 100000,
        "amount24": float(price * 100000 * asset.contract_size),
        "holdVol": 50000,
        "lower24Price": float(price),
        "high24Price": float(price),
        "riseFallRate": 0,
        "riseFallValue": 0,
        "indexPrice": float(price),
        "fairPrice": float(price),
        "fundingRate": 0.0001,
        "maxBidPrice": float(price * Decimal("1.1")),
        "minAskPrice": float(price * Decimal("0.9")),
        "timestamp": ctx.now_ms,
    }


async def ticker(ctx: Ctx) -> Any:
    """``GET /api/v1/contract/ticker`` (one object with ``symbol``, else a list)."""
    symbol = ctx.param("symbol")
    if symbol:
        return _ticker(ctx, _asset(symbol))
    return [_ticker(ctx, a) for a in markets.ASSETS]


async def depth(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/contract/depth/{symbol}``: levels are [price, contracts, order count]."""
    asset = _asset(ctx.path_param("symbol"))
    price = ctx.state.prices.price(asset.code)
    size = max(Decimal(1), books.book_size(price) / asset.contract_size)
    bids, asks = books.depth(price, asset.futures_tick, size)
    return {
        "asks": [[float(p), float(q), 1] for p, q in asks],
        "bids": [[float(p), float(q), 1] for p, q in bids],
        "version": ctx.state.prices.step_count + 1,
        "timestamp": ctx.now_ms,
    }


def endpoints() -> list[Endpoint]:
    """Futures trading routes."""
    v = VENUE
    write, read = "CONTRACT_DEAL_WRITE", "CONTRACT_DEAL_READ"
    p = "/api/v1/private"
    return [
        Endpoint("GET", "/api/v1/contract/ticker", ticker, v),
        Endpoint("GET", "/api/v1/contract/depth/{symbol}", depth, v),
        Endpoint("POST", f"{p}/order/create", create_order, v, private=True, permission=write),
        Endpoint("POST", f"{p}/order/submit", submit_order, v, private=True, permission=write),
        Endpoint("POST", f"{p}/order/cancel", cancel_orders, v, private=True, permission=write),
        Endpoint("POST", f"{p}/order/cancel_all", cancel_all, v, private=True, permission=write),
        Endpoint("GET", f"{p}/order/list/open_orders", open_orders, v, private=True, permission=read),
        Endpoint("GET", f"{p}/order/list/open_orders/{{symbol}}", open_orders, v, private=True, permission=read),
        Endpoint("GET", f"{p}/order/list/history_orders", history_orders, v, private=True, permission=read),
        Endpoint("GET", f"{p}/order/get/{{order_id}}", get_order, v, private=True, permission=read),
        Endpoint(
            "GET", f"{p}/order/external/{{symbol}}/{{external_oid}}", get_external, v, private=True, permission=read
        ),
        Endpoint("GET", f"{p}/order/list/order_deals", order_deals, v, private=True, permission=read),
        Endpoint("GET", f"{p}/position/open_positions", open_positions, v, private=True, permission=read),
        Endpoint("GET", f"{p}/position/leverage", get_leverage, v, private=True, permission=read),
        Endpoint("POST", f"{p}/position/change_leverage", change_leverage, v, private=True, permission=write),
    ]
