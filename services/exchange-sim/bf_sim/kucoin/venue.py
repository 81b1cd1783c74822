"""KuCoin wire conventions, shared by spot and futures (https://www.kucoin.com/docs-new/introduction)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bf_sim.auth import RawRequest
from bf_sim.auth.kucoin import verify
from bf_sim.errors import SimError, kucoin_error
from bf_sim.ratelimit import Quota
from bf_sim.routing import Endpoint, Venue
from bf_sim.state import ExchangeState, KeyState

# VIP0 quotas per 30 s (https://www.kucoin.com/docs-new/rate-limit).
POOL_LIMITS = {"spot": 4000, "futures": 2000, "management": 2000, "public": 2000, "earn": 2000}
POOL_WINDOW_MS = 30_000


def ratelimit_headers(limit: int, remaining: int, reset_ms: int) -> dict[str, str]:
    """KuCoin reports its quota on every answer."""
    return {
        "gw-ratelimit-limit": str(limit),
        "gw-ratelimit-remaining": str(remaining),
        "gw-ratelimit-reset": str(reset_ms),
    }


class KucoinVenue(Venue):
    """``{"code":"200000","data":...}`` on success; ``{"code","msg"}`` with an HTTP status on errors."""

    name = "kucoin"

    def authenticate(self, raw: RawRequest, state: ExchangeState) -> KeyState:
        """``bf_sim.auth.kucoin.verify``."""
        return verify(raw, state)

    def key_id(self, raw: RawRequest) -> str | None:
        """The key id header."""
        return raw.headers.get("KC-API-KEY")

    def ok(self, data: Any) -> web.Response:
        """The success envelope."""
        body = {"code": "200000", "data": data}
        return web.Response(text=json.dumps(body, separators=(",", ":")), content_type="application/json")

    def missing_permission(self, permission: str) -> SimError:
        """400007."""
        return kucoin_error("400007")

    def not_found(self) -> SimError:
        """404000."""
        return kucoin_error("404000")

    def maintenance(self) -> SimError:
        """500000 with HTTP 503; ``/api/v1/status`` meanwhile says ``close``."""
        return kucoin_error("500000")

    def rate_limited(self, retry_after_s: int, quota: Quota | None = None) -> SimError:
        """429000 with HTTP 429, the ``gw-ratelimit-*`` headers and ``Retry-After``."""
        limit = quota.limit if quota else POOL_LIMITS["spot"]
        reset_ms = quota.reset_ms if quota else retry_after_s * 1000
        headers = ratelimit_headers(limit, 0, reset_ms) | {"Retry-After": str(retry_after_s)}
        return kucoin_error("429000", headers=headers)

    def bad_request(self, detail: str) -> SimError:
        """400100 naming the parameter."""
        return kucoin_error("400100", detail=f"{detail} is invalid")

    def maintenance_exempt(self, path: str) -> bool:
        """The status and time endpoints keep answering during maintenance."""
        return path in ("/api/v1/status", "/api/v1/timestamp")

    def rate_limit_rule(self, endpoint: Endpoint, key: KeyState | None, ip: str) -> tuple[str, int, int] | None:
        """Per-pool quotas: by account for signed endpoints, by IP for public ones."""
        who = key.account.account_id if key else ip
        return f"kucoin:{endpoint.pool}:{who}", POOL_LIMITS.get(endpoint.pool, 2000), POOL_WINDOW_MS

    def quota_headers(self, quota: Quota) -> dict[str, str]:
        """``gw-ratelimit-*``."""
        return ratelimit_headers(quota.limit, quota.remaining, quota.reset_ms)


VENUE = KucoinVenue()
