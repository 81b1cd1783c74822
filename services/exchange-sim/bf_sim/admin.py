"""The simulator's control API, on every exchange port under ``/__sim`` (JSON).

No exchange path starts with ``/__sim``, so the two never collide. Requests to it are not
subject to the exchange's conditions and are not written to the request log. Answers never
contain a secret or a passphrase; API keys appear masked except where the caller named them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bf_sim import markets
from bf_sim.config import Conditions, KeyConfig
from bf_sim.engine.orders import Order
from bf_sim.markets import Asset
from bf_sim.routing import STATE_KEY
from bf_sim.state import ExchangeState, KeyState

AdminHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data, default=str), content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


async def _body(request: web.Request) -> dict[str, Any]:
    text = await request.text()
    if not text.strip():
        return {}
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def _guard(handler: AdminHandler) -> AdminHandler:
    """Bad JSON or an invalid model answers 400 with the reason (never echoing secrets)."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ValidationError as exc:
            errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
            return _json({"error": "invalid", "details": errors}, 400)
        except (ValueError, KeyError) as exc:
            return _error(400, str(exc))

    return wrapped


def key_summary(key: KeyState, state: ExchangeState) -> dict[str, Any]:
    """What the admin API shows of a key: everything but its secret and passphrase."""
    cfg = key.config
    account = key.account
    return {
        "api_key": key.masked,
        "label": key.label,
        "permissions": list(cfg.permissions),
        "ip_whitelist": list(cfg.ip_whitelist),
        "has_passphrase": cfg.passphrase is not None,
        "expires_in_days": cfg.expires_in_days,
        "remaining_validity_days": key.remaining_validity_days(state.server_now_ms()),
        "is_master": cfg.is_master,
        "sub_name": cfg.sub_name,
        "account": account.account_id if cfg.account else None,
        "hf_account": cfg.hf_account,
        "conditions": cfg.conditions.model_dump(),
        "balances": {
            "spot": {c: str(v) for c, v in sorted(account.spot.items())},
            "futures": {c: str(v) for c, v in sorted(account.futures.items())},
            "spot_locked": {c: str(v) for c, v in sorted(account.spot_locked.items()) if v},
            "futures_locked": {c: str(v) for c, v in sorted(account.futures_locked.items()) if v},
        },
    }


def _merged(base: BaseModel, patch: dict[str, Any]) -> dict[str, Any]:
    data = base.model_dump()
    for name, value in patch.items():
        if isinstance(value, dict) and isinstance(data.get(name), dict) and name != "balances":
            data[name] = {**data[name], **value}
        else:
            data[name] = value
    return data


def _apply_balances(key: KeyState, patch: dict[str, Any]) -> None:
    """An explicit ``balances`` in a create/update sets the account's wallets to it."""
    balances = key.config.balances
    if "balances" in patch:
        key.account.spot = dict(balances.spot)
        key.account.futures = dict(balances.futures)


# -- keys -------------------------------------------------------------------------------------


async def list_keys(request: web.Request) -> web.StreamResponse:
    """``GET /__sim/keys``."""
    state = request.app[STATE_KEY]
    return _json({"keys": [key_summary(k, state) for k in state.keys.values()]})


async def get_key(request: web.Request) -> web.StreamResponse:
    """``GET /__sim/keys/{api_key}``."""
    state = request.app[STATE_KEY]
    key = state.find_key(request.match_info["api_key"])
    if key is None:
        return _error(404, "no such key")
    return _json(key_summary(key, state))


async def create_key(request: web.Request) -> web.StreamResponse:
    """``POST /__sim/keys`` with a full key config: 201, or 409 if the key exists."""
    state = request.app[STATE_KEY]
    body = await _body(request)
    config = KeyConfig.model_validate(body)
    if state.find_key(config.api_key) is not None:
        return _error(409, "key exists; use PUT or PATCH /__sim/keys/{api_key}")
    key = state.upsert_key(config)
    _apply_balances(key, body)
    return _json(key_summary(key, state), 201)


async def put_key(request: web.Request) -> web.StreamResponse:
    """``PUT /__sim/keys/{api_key}``: create or replace the key with the body's config."""
    state = request.app[STATE_KEY]
    body = await _body(request) | {"api_key": request.match_info["api_key"]}
    existed = state.find_key(body["api_key"]) is not None
    key = state.upsert_key(KeyConfig.model_validate(body))
    _apply_balances(key, body)
    state.release_hung()
    return _json(key_summary(key, state), 200 if existed else 201)


async def patch_key(request: web.Request) -> web.StreamResponse:
    """``PATCH /__sim/keys/{api_key}``: change some fields (``conditions`` merge field by field)."""
    state = request.app[STATE_KEY]
    key = state.find_key(request.match_info["api_key"])
    if key is None:
        return _error(404, "no such key")
    body = await _body(request)
    body.pop("api_key", None)
    key = state.upsert_key(KeyConfig.model_validate(_merged(key.config, body)))
    _apply_balances(key, body)
    state.release_hung()
    return _json(key_summary(key, state))


async def delete_key(request: web.Request) -> web.StreamResponse:
    """``DELETE /__sim/keys/{api_key}``: revoke (later calls get the unknown-key error)."""
    state = request.app[STATE_KEY]
    if not state.delete_key(request.match_info["api_key"]):
        return _error(404, "no such key")
    return web.Response(status=204)


# -- conditions, settings, reset, log -------------------------------------------------------


async def get_conditions(request: web.Request) -> web.StreamResponse:
    """``GET /__sim/conditions``."""
    return _json(request.app[STATE_KEY].conditions.model_dump())


async def put_conditions(request: web.Request) -> web.StreamResponse:
    """``PUT /__sim/conditions``: replace (omitted fields are off)."""
    state = request.app[STATE_KEY]
    state.set_conditions(Conditions.model_validate(await _body(request)))
    return _json(state.conditions.model_dump())


async def patch_conditions(request: web.Request) -> web.StreamResponse:
    """``PATCH /__sim/conditions``: change only the given fields."""
    state = request.app[STATE_KEY]
    state.set_conditions(Conditions.model_validate(_merged(state.conditions, await _body(request))))
    return _json(state.conditions.model_dump())


_SETTINGS_EXCLUDED = {"keys", "conditions"}


def _settings(state: ExchangeState) -> dict[str, Any]:
    return state.config.model_dump(exclude=_SETTINGS_EXCLUDED)


async def get_settings(request: web.Request) -> web.StreamResponse:
    """``GET /__sim/settings``: the exchange's switches (e.g. ``api_key_info_supported``)."""
    return _json(_settings(request.app[STATE_KEY]))


async def patch_settings(request: web.Request) -> web.StreamResponse:
    """``PATCH /__sim/settings``: change switches until the next reset."""
    state = request.app[STATE_KEY]
    body = await _body(request)
    if set(body) & _SETTINGS_EXCLUDED:
        raise ValueError("keys and conditions have their own routes")
    state.config = type(state.config).model_validate(_merged(state.config, body))
    return _json(_settings(state))


async def reset(request: web.Request) -> web.StreamResponse:
    """``POST /__sim/reset``: keys, balances, conditions, settings, prices and orders as configured."""
    state = request.app[STATE_KEY]
    state.reset()
    return _json({"reset": True, "keys": len(state.keys)})


class _RequestFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: str | None = None
    label: str | None = None
    path: str | None = None
    method: str | None = None
    since: int | None = None
    limit: int = Field(default=1000, ge=1, le=10_000)


async def get_requests(request: web.Request) -> web.StreamResponse:
    """``GET /__sim/requests?api_key=&label=&path=&method=&since=&limit=``: newest last."""
    state = request.app[STATE_KEY]
    f = _RequestFilter.model_validate(dict(request.query))
    rows = [
        r
        for r in state.requests
        if (f.api_key is None or r.key_id == f.api_key)
        and (f.label is None or r.key_label == f.label)
        and (f.path is None or r.path == f.path)
        and (f.method is None or r.method == f.method.upper())
        and (f.since is None or r.ts_ms >= f.since)
    ]
    return _json({"count": len(rows), "requests": [r.as_json() for r in rows[-f.limit :]]})


async def clear_requests(request: web.Request) -> web.StreamResponse:
    """``DELETE /__sim/requests``."""
    request.app[STATE_KEY].requests.clear()
    return web.Response(status=204)


async def get_state(request: web.Request) -> web.StreamResponse:
    """``GET /__sim/state``: everything at a glance."""
    state = request.app[STATE_KEY]
    return _json(
        {
            "exchange": state.name,
            "server_time": state.server_now_ms(),
            "conditions": state.conditions.model_dump(),
            "settings": _settings(state),
            "keys": [key_summary(k, state) for k in state.keys.values()],
            "prices": {c: str(p) for c, p in state.prices.all().items()},
            "price_step": state.prices.step_count,
        }
    )


async def healthz(request: web.Request) -> web.StreamResponse:
    """``GET /healthz``."""
    return _json({"status": "ok", "exchange": request.app[STATE_KEY].name})


# -- market and orders ---------------------------------------------------------------------


def _decimal_list(values: Any) -> list[Decimal]:
    if not isinstance(values, list) or not values:
        raise ValueError("expected a non-empty list of prices")
    return [Decimal(str(v)) for v in values]


def resolve_asset(symbol: str) -> Asset:
    """``BTC``, ``BTC/USDT``, ``BTC/USDT:USDT`` or any venue id (``BTCUSDT``, ``XBTUSDTM``...)."""
    wanted = symbol.upper().split(":")[0].replace("/", "")
    for asset in markets.ASSETS:
        ids = {
            asset.code,
            asset.code + markets.QUOTE,
            markets.mexc_contract_id(asset),
            markets.kucoin_spot_id(asset),
            markets.kucoin_futures_id(asset),
        }
        if wanted in {i.upper() for i in ids}:
            return asset
    raise KeyError(f"unknown symbol {symbol!r}")


async def get_prices(request: web.Request) -> web.StreamResponse:
    """``GET /__sim/prices``: current price per asset and the step counter."""
    state = request.app[STATE_KEY]
    return _json({"step": state.prices.step_count, "prices": {c: str(p) for c, p in state.prices.all().items()}})


async def put_price_path(request: web.Request) -> web.StreamResponse:
    """``PUT /__sim/prices/{symbol}`` ``{"prices": [..]}`` (or a bare list): follow this path.

    The first price is current at once (resting orders it reaches fill); each advance takes
    the next; the last one stays.
    """
    state = request.app[STATE_KEY]
    text = await request.text()
    data = json.loads(text) if text.strip() else None
    prices = _decimal_list(data.get("prices") if isinstance(data, dict) else data)
    asset = resolve_asset(request.match_info["symbol"])
    state.prices.script(asset.code, prices)
    filled = len(state.engine.match(state.accounts))
    return _json({"symbol": asset.code, "price": str(state.prices.price(asset.code)), "filled": filled})


async def advance(request: web.Request) -> web.StreamResponse:
    """``POST /__sim/advance`` ``{"steps": 1, "ms": 0}``: step prices (filling resting orders at
    each step) and, with a manual clock, move time forward by ``ms``."""
    state = request.app[STATE_KEY]
    body = await _body(request)
    steps = int(body.get("steps", 1))
    ms = int(body.get("ms", 0))
    if steps < 0 or ms < 0:
        raise ValueError("steps and ms must not be negative")
    if ms:
        clock_advance = getattr(state.clock, "advance", None)
        if clock_advance is None:
            raise ValueError("the server runs on the system clock; only a manual clock can be advanced")
        clock_advance(ms)
    filled = state.advance(steps)
    return _json(
        {
            "step": state.prices.step_count,
            "filled": filled,
            "prices": {c: str(p) for c, p in state.prices.all().items()},
        }
    )


def order_summary(order: Order, state: ExchangeState) -> dict[str, Any]:
    """An order as the admin API shows it (venue-neutral)."""
    req = order.request
    key = state.find_key(req.api_key) if req.api_key else None
    return {
        "order_id": order.order_id,
        "client_order_id": order.client_id,
        "account": order.account_id if key is None or key.config.account else None,
        "key_label": key.label if key else None,
        "market": order.kind,
        "symbol": req.asset.code + "/" + markets.QUOTE + (":" + markets.QUOTE if order.kind == "futures" else ""),
        "side": req.side,
        "type": req.type,
        "time_in_force": req.tif,
        "price": str(req.price) if req.price is not None else None,
        "amount": str(req.qty) if req.qty is not None else None,
        "funds": str(req.funds) if req.funds is not None else None,
        "leverage": order.leverage if order.kind == "futures" else None,
        "reduce_only": req.reduce_only,
        "status": order.status,
        "filled": str(order.filled_qty),
        "cost": str(order.filled_quote),
        "fee": str(order.fee),
        "average": str(order.average) if order.average is not None else None,
        "created": order.created_ms,
        "updated": order.updated_ms,
    }


async def get_orders(request: web.Request) -> web.StreamResponse:
    """``GET /__sim/orders?api_key=&label=&status=&market=&symbol=``: every order the exchange holds."""
    state = request.app[STATE_KEY]
    q = request.query
    account_id = None
    wanted_key = q.get("api_key") or next(
        (k.api_key for k in state.keys.values() if q.get("label") and k.label == q.get("label")), None
    )
    if wanted_key:
        key = state.find_key(wanted_key)
        if key is None:
            return _error(404, "no such key")
        account_id = key.account.account_id
    asset = resolve_asset(q["symbol"]) if "symbol" in q else None
    rows = [
        order_summary(o, state)
        for o in state.engine.orders.values()
        if (account_id is None or o.account_id == account_id)
        and ("status" not in q or o.status == q["status"])
        and ("market" not in q or o.kind == q["market"])
        and (asset is None or o.asset is asset)
    ]
    return _json({"count": len(rows), "orders": rows})


async def get_positions(request: web.Request) -> web.StreamResponse:
    """``GET /__sim/positions?api_key=``: open futures positions."""
    state = request.app[STATE_KEY]
    key = state.find_key(request.query.get("api_key"))
    accounts = [key.account] if key else list(state.accounts.values())
    rows = []
    for account in accounts:
        for p in state.engine.account_positions(account):
            rows.append(
                {
                    "symbol": f"{p.asset.code}/{markets.QUOTE}:{markets.QUOTE}",
                    "contracts": str(p.qty),
                    "entry_price": str(p.entry_price),
                    "leverage": p.leverage,
                    "unrealised_pnl": str(state.engine.unrealised(p)),
                    "realised_pnl": str(p.realised_pnl),
                }
            )
    return _json({"count": len(rows), "positions": rows})


def setup(app: web.Application) -> None:
    """Register the admin routes on an exchange app."""
    r = app.router
    r.add_get("/healthz", healthz)
    r.add_get("/__sim/state", _guard(get_state))
    r.add_get("/__sim/keys", _guard(list_keys))
    r.add_post("/__sim/keys", _guard(create_key))
    r.add_get("/__sim/keys/{api_key}", _guard(get_key))
    r.add_put("/__sim/keys/{api_key}", _guard(put_key))
    r.add_patch("/__sim/keys/{api_key}", _guard(patch_key))
    r.add_delete("/__sim/keys/{api_key}", _guard(delete_key))
    r.add_get("/__sim/conditions", _guard(get_conditions))
    r.add_put("/__sim/conditions", _guard(put_conditions))
    r.add_patch("/__sim/conditions", _guard(patch_conditions))
    r.add_get("/__sim/settings", _guard(get_settings))
    r.add_patch("/__sim/settings", _guard(patch_settings))
    r.add_post("/__sim/reset", _guard(reset))
    r.add_get("/__sim/requests", _guard(get_requests))
    r.add_delete("/__sim/requests", _guard(clear_requests))
    r.add_get("/__sim/prices", _guard(get_prices))
    r.add_put("/__sim/prices/{symbol}", _guard(put_price_path))
    r.add_post("/__sim/advance", _guard(advance))
    r.add_get("/__sim/orders", _guard(get_orders))
    r.add_get("/__sim/positions", _guard(get_positions))
