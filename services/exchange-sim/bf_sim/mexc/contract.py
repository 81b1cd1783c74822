"""MEXC futures endpoints (https://www.mexc.com/api-docs/futures/integration-guide).

Every answer is HTTP 200 with ``{"success": bool, "code": int, ...}``, errors included.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from aiohttp import web

from bf_sim import markets
from bf_sim.auth import RawRequest
from bf_sim.auth.mexc import verify_contract
from bf_sim.errors import SimError, mexc_contract_error
from bf_sim.mexc.spot import MAINTENANCE_BODY
from bf_sim.ratelimit import Quota
from bf_sim.routing import Ctx, Endpoint, Venue
from bf_sim.state import ExchangeState, KeyState

# Native permission -> the code MEXC futures answers when a key lacks it.
PERMISSION_CODES = {
    "CONTRACT_ACCOUNT_READ": 701,
    "CONTRACT_ACCOUNT_WRITE": 702,
    "CONTRACT_DEAL_READ": 703,
    "CONTRACT_DEAL_WRITE": 704,
}


class MexcContractVenue(Venue):
    """Futures wire conventions: ``{"success":true,"code":0,"data":...}``; errors with HTTP 200."""

    name = "mexc-contract"

    def authenticate(self, raw: RawRequest, state: ExchangeState) -> KeyState:
        """Private-endpoint check (``bf_sim.auth.mexc.verify_contract``)."""
        return verify_contract(raw, state)

    def key_id(self, raw: RawRequest) -> str | None:
        """The key id header."""
        return raw.headers.get("ApiKey")

    def ok(self, data: Any) -> web.Response:
        """The success envelope."""
        body = {"success": True, "code": 0, "data": data}
        return web.Response(text=json.dumps(body, separators=(",", ":")), content_type="application/json")

    def missing_permission(self, permission: str) -> SimError:
        """701..704 by the missing right."""
        return mexc_contract_error(PERMISSION_CODES.get(permission, 701))

    def not_found(self) -> SimError:
        """HTTP 404."""
        return mexc_contract_error(404, status=404)

    def maintenance(self) -> SimError:
        """HTTP 503 with MEXC's maintenance body."""
        return SimError(503, MAINTENANCE_BODY, code="500")

    def rate_limited(self, retry_after_s: int, quota: Quota | None = None) -> SimError:
        """Code 510 ("Requests are too frequent") with HTTP 429 and ``Retry-After``."""
        return mexc_contract_error(510, status=429, headers={"Retry-After": str(retry_after_s)})

    def bad_request(self, detail: str) -> SimError:
        """Code 600 ("Param error!")."""
        return mexc_contract_error(600)

    def rate_limit_rule(self, endpoint: Endpoint, key: KeyState | None, ip: str) -> tuple[str, int, int] | None:
        """Futures limits are per endpoint: 20 requests per 2 s is the common documented figure."""
        who = key.account.account_id if key else ip
        return f"mexc-contract:{endpoint.method}:{endpoint.path}:{who}", 20, 2_000


VENUE = MexcContractVenue()


async def ping(ctx: Ctx) -> int:
    """``GET /api/v1/contract/ping``: the server time."""
    return ctx.now_ms


async def detail(ctx: Ctx) -> Any:
    """``GET /api/v1/contract/detail`` (one contract with ``symbol``)."""
    details = markets.mexc_contract_details()
    symbol = ctx.param("symbol")
    if symbol:
        for d in details:
            if d["symbol"] == symbol:
                return d
        raise mexc_contract_error(1001)
    return details


def _asset_row(ctx: Ctx, currency: str) -> dict[str, Any]:
    account = ctx.signed_key.account
    if currency == markets.QUOTE:
        summary = ctx.state.engine.futures_summary(account)
    else:
        cash = account.futures.get(currency, Decimal(0))
        summary = {
            "cash": cash,
            "order_margin": Decimal(0),
            "position_margin": Decimal(0),
            "unrealised": Decimal(0),
            "equity": cash,
            "available": cash,
        }
    return {
        "currency": currency,
        "positionMargin": float(summary["position_margin"]),
        "availableBalance": float(summary["available"]),
        "cashBalance": float(summary["cash"]),
        "frozenBalance": float(summary["order_margin"]),
        "equity": float(summary["equity"]),
        "unrealized": float(summary["unrealised"]),
        "bonus": 0,
        "availableCash": float(summary["available"]),
        "availableOpen": float(summary["available"]),
    }


async def account_assets(ctx: Ctx) -> list[dict[str, Any]]:
    """``GET /api/v1/private/account/assets`` (CONTRACT_ACCOUNT_READ)."""
    currencies = sorted(set(ctx.signed_key.account.futures) | {markets.QUOTE})
    return [_asset_row(ctx, c) for c in currencies]


async def account_asset(ctx: Ctx) -> dict[str, Any]:
    """``GET /api/v1/private/account/asset/{currency}`` (CONTRACT_ACCOUNT_READ)."""
    return _asset_row(ctx, ctx.request.match_info["currency"].upper())


def endpoints() -> list[Endpoint]:
    """Futures routes (phase 1: status, contracts, assets)."""
    v = VENUE
    return [
        Endpoint("GET", "/api/v1/contract/ping", ping, v),
        Endpoint("GET", "/api/v1/contract/detail", detail, v),
        Endpoint(
            "GET", "/api/v1/private/account/assets", account_assets, v, private=True, permission="CONTRACT_ACCOUNT_READ"
        ),
        Endpoint(
            "GET",
            "/api/v1/private/account/asset/{currency}",
            account_asset,
            v,
            private=True,
            permission="CONTRACT_ACCOUNT_READ",
        ),
    ]
