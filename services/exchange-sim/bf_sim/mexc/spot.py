"""MEXC spot v3 endpoints (https://www.mexc.com/api-docs/spot-v3/introduction)."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from bf_sim import markets
from bf_sim.auth import RawRequest
from bf_sim.auth.mexc import verify_spot
from bf_sim.config import MexcConfig
from bf_sim.engine.orders import OrderRequest
from bf_sim.errors import SimError, mexc_spot_error
from bf_sim.ratelimit import Quota
from bf_sim.routing import Ctx, Endpoint, Venue
from bf_sim.state import ExchangeState, KeyState

# MEXC's maintenance answer, as ccxt quotes it (mexc.py exception map, "maintenance").
MAINTENANCE_BODY = {"code": 500, "message": "Under maintenance, please try again later"}


class MexcSpotVenue(Venue):
    """Spot v3 wire conventions: bare JSON on success, ``{"code","msg"}`` with HTTP 4xx on errors."""

    name = "mexc-spot"

    def authenticate(self, raw: RawRequest, state: ExchangeState) -> KeyState:
        """Signed-endpoint check (``bf_sim.auth.mexc.verify_spot``)."""
        return verify_spot(raw, state)

    def key_id(self, raw: RawRequest) -> str | None:
        """The key id header."""
        return raw.headers.get("X-MEXC-APIKEY")

    def ok(self, data: Any) -> web.Response:
        """The bare payload."""
        return web.Response(text=json.dumps(data, separators=(",", ":")), content_type="application/json")

    def missing_permission(self, permission: str) -> SimError:
        """700007."""
        return mexc_spot_error(700007)

    def not_found(self) -> SimError:
        """HTTP 404."""
        return mexc_spot_error(404)

    def maintenance(self) -> SimError:
        """HTTP 503 with MEXC's maintenance body."""
        return SimError(503, MAINTENANCE_BODY, code="500")

    def rate_limited(self, retry_after_s: int, quota: Quota | None = None) -> SimError:
        """HTTP 429 with ``Retry-After`` (https://www.mexc.com/api-docs/spot-v3/general-info, "LIMITS")."""
        err = mexc_spot_error(429)
        err.headers["Retry-After"] = str(retry_after_s)
        return err

    def bad_request(self, detail: str) -> SimError:
        """A mandatory parameter is missing."""
        return mexc_spot_error(-1102, param=detail)

    def rate_limit_rule(self, endpoint: Endpoint, key: KeyState | None, ip: str) -> tuple[str, int, int] | None:
        """500 weight per 10 s per endpoint, per UID for signed and per IP for public endpoints."""
        who = key.account.account_id if key else ip
        return f"mexc:{endpoint.method}:{endpoint.path}:{who}", 500, 10_000


VENUE = MexcSpotVenue()


def _mexc_config(state: ExchangeState) -> MexcConfig:
    assert isinstance(state.config, MexcConfig)
    return state.config


async def ping(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v3/ping``: an empty object."""
    return {}


async def server_time(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v3/time``."""
    return {"serverTime": ctx.now_ms}


async def exchange_info(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v3/exchangeInfo`` (optionally ``symbol`` or ``symbols=A,B``)."""
    symbols = markets.mexc_exchange_info_symbols()
    wanted = ctx.param("symbol") or ctx.param("symbols")
    if wanted:
        names = set(wanted.split(","))
        symbols = [s for s in symbols if s["symbol"] in names]
        if not symbols:
            raise mexc_spot_error(-1121)
    return {"timezone": "CST", "serverTime": ctx.now_ms, "rateLimits": [], "exchangeFilters": [], "symbols": symbols}


async def capital_config(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v3/capital/config/getall`` (signed; ccxt's fetch_currencies)."""
    return markets.mexc_capital_config()


def _balances(key: KeyState) -> list[dict[str, str]]:
    account = key.account
    out = []
    for currency in sorted(account.spot):
        total = account.spot[currency]
        locked = account.spot_locked.get(currency, Decimal(0))
        if total == 0 and locked == 0:
            continue
        out.append({"asset": currency, "free": markets.fmt(total - locked), "locked": markets.fmt(locked)})
    return out


async def account(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v3/account`` (SPOT_ACCOUNT_READ).

    ``canTrade``/``canWithdraw`` describe the account, not the key (EXCHANGES.md), so they
    stay true whatever the key's permissions are.
    """
    return {
        "makerCommission": 0,
        "takerCommission": 0,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "updateTime": None,
        "accountType": "SPOT",
        "balances": _balances(ctx.signed_key),
        "permissions": ["SPOT"],
    }


async def api_key_info(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v3/apiKeyInfo``: UNCONFIRMED on the real exchange; fields as EXCHANGES.md lists them."""
    key = ctx.signed_key
    return {
        "apiKey": key.api_key,
        "memo": key.config.label or "",
        "permissions": ",".join(key.config.permissions),
        "ipWhiteList": ",".join(key.config.ip_whitelist),
        "remainingValidity": key.remaining_validity_days(ctx.now_ms),
        "status": 1,
        "createTime": key.created_at_ms,
    }


async def api_key_info_post(ctx: Ctx) -> dict[str, Any]:
    """``POST /api/v3/apiKeyInfo`` changes the IP whitelist on the real exchange: refused, never applied."""
    raise mexc_spot_error(26)


def parse_decimal(ctx: Ctx, name: str) -> Decimal | None:
    """An optional decimal parameter; malformed values are a bad request."""
    text = ctx.param(name)
    if text is None or text == "":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise VENUE.bad_request(name) from None
    if not value.is_finite():
        raise VENUE.bad_request(name)
    return value


# MEXC order type -> (engine type, time in force).
ORDER_TYPES = {
    "LIMIT": ("limit", "GTC"),
    "MARKET": ("market", "GTC"),
    "LIMIT_MAKER": ("limit", "POST_ONLY"),
    "IMMEDIATE_OR_CANCEL": ("limit", "IOC"),
    "FILL_OR_KILL": ("limit", "FOK"),
}


def validate_order(ctx: Ctx) -> OrderRequest:
    """Check a new-order request like ``POST /api/v3/order`` does; returns the parsed order."""
    asset = markets.find(markets.mexc_spot_id, ctx.required("symbol"))
    if asset is None:
        raise mexc_spot_error(-1121)
    side = ctx.required("side").upper()
    order_type = ctx.required("type").upper()
    if side not in ("BUY", "SELL") or order_type not in ORDER_TYPES:
        raise mexc_spot_error(700004, msg="Parameter 'side' or 'type' is invalid.")
    quantity = parse_decimal(ctx, "quantity")
    quote_qty = parse_decimal(ctx, "quoteOrderQty")
    price = parse_decimal(ctx, "price")
    if order_type == "MARKET":
        if quantity is None and quote_qty is None:
            raise VENUE.bad_request("quantity")
    else:
        if price is None:
            raise VENUE.bad_request("price")
        if quantity is None:
            raise VENUE.bad_request("quantity")
    if any(v is not None and v <= 0 for v in (quantity, quote_qty, price)):
        raise mexc_spot_error(2011)
    if quantity is not None and quantity < asset.min_amount:
        raise mexc_spot_error(30002, minimum=markets.fmt(asset.min_amount))
    reference = price or ctx.state.prices.price(asset.code)
    notional = quote_qty if quote_qty is not None else (quantity or Decimal(0)) * reference
    if notional < Decimal(1):
        raise mexc_spot_error(30002, minimum="1USDT")
    engine_type, tif = ORDER_TYPES[order_type]
    return OrderRequest(
        kind="spot",
        asset=asset,
        side="buy" if side == "BUY" else "sell",
        type=engine_type,  # type: ignore[arg-type]
        qty=quantity,
        price=price if order_type != "MARKET" else None,
        funds=quote_qty if quantity is None else None,
        tif=tif,  # type: ignore[arg-type]
        client_id=ctx.param("newClientOrderId"),
        api_key=ctx.signed_key.api_key,
    )


async def order_test(ctx: Ctx) -> dict[str, Any]:
    """``POST /api/v3/order/test`` (SPOT_DEAL_WRITE): validates, never places an order."""
    validate_order(ctx)
    return {}


def _api_key_info_supported(state: ExchangeState) -> bool:
    return _mexc_config(state).api_key_info_supported


def _currency_permission(state: ExchangeState) -> str | None:
    return _mexc_config(state).currency_config_permission


def endpoints() -> list[Endpoint]:
    """Spot v3 routes (phase 1: status, markets, account, introspection, test orders)."""
    v = VENUE
    return [
        Endpoint("GET", "/api/v3/ping", ping, v),
        Endpoint("GET", "/api/v3/time", server_time, v),
        Endpoint("GET", "/api/v3/exchangeInfo", exchange_info, v, weight=10),
        Endpoint(
            "GET",
            "/api/v3/capital/config/getall",
            capital_config,
            v,
            private=True,
            permission=_currency_permission,
            weight=10,
        ),
        Endpoint("GET", "/api/v3/account", account, v, private=True, permission="SPOT_ACCOUNT_READ", weight=10),
        Endpoint("GET", "/api/v3/apiKeyInfo", api_key_info, v, private=True, available=_api_key_info_supported),
        Endpoint("POST", "/api/v3/apiKeyInfo", api_key_info_post, v, private=True, available=_api_key_info_supported),
        Endpoint("POST", "/api/v3/order/test", order_test, v, private=True, permission="SPOT_DEAL_WRITE"),
    ]
