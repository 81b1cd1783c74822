"""The small HTTP layer under both exchanges.

An :class:`Endpoint` names a handler, the :class:`Venue` (API family) whose wire
conventions it follows, and whether it is signed and which native permission it needs. One
middleware applies the exchange-wide conditions and writes the request log; the endpoint
wrapper authenticates, applies the key's own conditions, counts rate limits and checks the
permission before the handler runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bf_shared.masking import mask_api_key
from bf_sim.auth import RawRequest, decoded_params
from bf_sim.config import Conditions
from bf_sim.errors import SimError, gateway_error
from bf_sim.ratelimit import FixedWindowLimiter, Quota
from bf_sim.state import Account, ExchangeState, KeyState, RequestRecord

log = logging.getLogger("bf_sim")

Handler = Callable[["Ctx"], Awaitable[Any]]
PermissionSpec = str | Callable[[ExchangeState], str | None] | None

STATE_KEY: web.AppKey[ExchangeState] = web.AppKey("bf_sim_state", ExchangeState)
LIMITER_KEY: web.AppKey[FixedWindowLimiter] = web.AppKey("bf_sim_limiter", FixedWindowLimiter)
VENUE_FOR_PATH_KEY: web.AppKey[Callable[[str], Venue]] = web.AppKey("bf_sim_venue_for_path")
# Typed request storage where aiohttp has it (RequestKey is recent); a plain name otherwise.
REQUEST_KEY_KEY: Any = web.RequestKey("bf_sim_key", KeyState) if hasattr(web, "RequestKey") else "bf_sim_key"
CLAIMED_KEY_KEY: Any = web.RequestKey("bf_sim_claimed_key", str) if hasattr(web, "RequestKey") else "bf_sim_claimed"


class Venue(ABC):
    """One API family's wire conventions: authentication, envelopes and generic errors."""

    name: str = ""

    @abstractmethod
    def authenticate(self, raw: RawRequest, state: ExchangeState) -> KeyState:
        """The key that signed ``raw``, or raise the family's auth error."""

    @abstractmethod
    def key_id(self, raw: RawRequest) -> str | None:
        """The API key a request claims to come from (before it is verified)."""

    @abstractmethod
    def ok(self, data: Any) -> web.Response:
        """A success answer around ``data``."""

    @abstractmethod
    def missing_permission(self, permission: str) -> SimError:
        """The key lacks ``permission``."""

    @abstractmethod
    def not_found(self) -> SimError:
        """No such endpoint."""

    @abstractmethod
    def maintenance(self) -> SimError:
        """The exchange is in maintenance."""

    @abstractmethod
    def rate_limited(self, retry_after_s: int, quota: Quota | None = None) -> SimError:
        """Too many requests."""

    @abstractmethod
    def bad_request(self, detail: str) -> SimError:
        """A missing or malformed parameter."""

    def maintenance_exempt(self, path: str) -> bool:
        """Paths that still answer during maintenance (e.g. a status endpoint)."""
        return False

    def rate_limit_rule(self, endpoint: Endpoint, key: KeyState | None, ip: str) -> tuple[str, int, int] | None:
        """(bucket, limit, window ms) for documented limits, or None when unlimited."""
        return None

    def quota_headers(self, quota: Quota) -> dict[str, str]:
        """Headers reporting the rate-limit quota on every answer."""
        return {}


@dataclass(frozen=True)
class Endpoint:
    """A route and what it requires."""

    method: str
    path: str
    handler: Handler
    venue: Venue
    private: bool = False
    permission: PermissionSpec = None
    weight: int = 1
    pool: str = "public"
    # For endpoints the simulated exchange may lack: when it says False, the path is unknown.
    available: Callable[[ExchangeState], bool] | None = None


@dataclass
class Ctx:
    """What a handler gets: the parsed request, the authenticated key, the exchange state."""

    request: web.Request
    state: ExchangeState
    venue: Venue
    raw: RawRequest
    key: KeyState | None
    query: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] = field(default_factory=dict)
    # A JSON array body (MEXC futures cancel takes ``["id", ...]``).
    json_list: list[Any] = field(default_factory=list)

    @property
    def now_ms(self) -> int:
        """The exchange's clock (including any skew)."""
        return self.state.server_now_ms(self.key)

    @property
    def signed_key(self) -> KeyState:
        """The key of a signed endpoint."""
        assert self.key is not None, "signed endpoint without a key"
        return self.key

    def param(self, name: str) -> str | None:
        """A parameter from the query or the JSON body, as text."""
        if name in self.query:
            return self.query[name]
        value = self.json.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def required(self, name: str) -> str:
        """A parameter that must be present."""
        value = self.param(name)
        if value is None or value == "":
            raise self.venue.bad_request(name)
        return value

    @property
    def account(self) -> Account:
        """The signing key's account."""
        return self.signed_key.account

    def path_param(self, name: str) -> str:
        """A ``{name}`` segment of the route."""
        return self.request.match_info[name]

    def require(self, permission: str) -> None:
        """Raise the venue's missing-permission error unless the key has ``permission``."""
        if not self.signed_key.has(permission):
            raise self.venue.missing_permission(permission)


async def apply_conditions(current: Callable[[], Conditions], state: ExchangeState, venue: Venue, path: str) -> None:
    """Delay, hold or refuse a request as the conditions returned by ``current`` say.

    ``current`` is re-read after a hold, so a request held by ``hang`` goes on with whatever
    the conditions are once it is released (by a reset or a condition change).
    """
    while current().hang and not state.closing:
        await state.wait_released()
    conditions = current()
    if conditions.latency_ms:
        await asyncio.sleep(conditions.latency_ms / 1000)
    if conditions.http_5xx:
        raise gateway_error(conditions.http_5xx)
    if conditions.maintenance and not venue.maintenance_exempt(path):
        raise venue.maintenance()
    if conditions.rate_limit is not None:
        raise venue.rate_limited(conditions.rate_limit.retry_after_s)


def _resolve_permission(spec: PermissionSpec, state: ExchangeState) -> str | None:
    return spec(state) if callable(spec) else spec


def endpoint_handler(ep: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler that runs ``ep`` with authentication and permission checks."""

    async def handle(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE_KEY]
        if ep.available is not None and not ep.available(state):
            raise ep.venue.not_found()
        body = await request.text()
        raw = RawRequest(
            method=request.method,
            target=request.raw_path,
            body=body,
            headers=request.headers,
            remote_ip=request.remote or "",
        )
        key: KeyState | None = None
        if ep.private:
            claimed = ep.venue.key_id(raw)
            if claimed:
                request[CLAIMED_KEY_KEY] = claimed
            key = ep.venue.authenticate(raw, state)
            request[REQUEST_KEY_KEY] = key
            api_key = key.api_key
            fallback = key

            def key_conditions() -> Conditions:
                return (state.keys.get(api_key) or fallback).config.conditions

            await apply_conditions(key_conditions, state, ep.venue, request.path)
        extra_headers: dict[str, str] = {}
        if state.config.simulate_rate_limits:
            rule = ep.venue.rate_limit_rule(ep, key, raw.remote_ip)
            if rule is not None:
                bucket, limit, window_ms = rule
                quota = request.app[LIMITER_KEY].hit(bucket, ep.weight, limit, window_ms)
                if not quota.allowed:
                    raise ep.venue.rate_limited(max(1, -(-quota.reset_ms // 1000)), quota)
                extra_headers = ep.venue.quota_headers(quota)
        permission = _resolve_permission(ep.permission, state)
        if key is not None and permission and not key.has(permission):
            raise ep.venue.missing_permission(permission)
        payload: dict[str, Any] = {}
        items: list[Any] = []
        if body.strip().startswith(("{", "[")):
            try:
                parsed = json.loads(body)
            except ValueError:
                raise ep.venue.bad_request("body") from None
            payload, items = (parsed, []) if isinstance(parsed, dict) else ({}, parsed)
        ctx = Ctx(request, state, ep.venue, raw, key, decoded_params(raw.raw_query), payload, items)
        result = await ep.handler(ctx)
        response = result if isinstance(result, web.StreamResponse) else ep.venue.ok(result)
        response.headers.update(extra_headers)
        return response

    return handle


def is_admin_path(path: str) -> bool:
    """Simulator control paths, never subject to conditions or logged."""
    return path.startswith("/__sim") or path == "/healthz"


@web.middleware
async def exchange_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Exchange-wide conditions, venue-style 404s, SimError rendering and the request log."""
    if is_admin_path(request.path):
        return await handler(request)
    state = request.app[STATE_KEY]
    venue = request.app[VENUE_FOR_PATH_KEY](request.path)
    status, code = 0, None
    try:
        await apply_conditions(lambda: state.conditions, state, venue, request.path)
        try:
            response = await handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            raise venue.not_found() from None
        status = response.status
        return response
    except SimError as err:
        status, code = err.status, err.code
        return err.to_response()
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away
        raise
    except Exception:
        status = 500
        log.exception("unhandled error on %s %s", request.method, request.path)
        raise
    finally:
        # Attribute the request to the key it claims, even when that key failed to verify.
        claimed: str | None = request.get(CLAIMED_KEY_KEY)
        key: KeyState | None = request.get(REQUEST_KEY_KEY) or state.find_key(claimed)
        state.log(
            RequestRecord(
                ts_ms=state.clock.now_ms(),
                method=request.method,
                path=request.path,
                status=status,
                code=code,
                api_key=key.masked if key else (mask_api_key(claimed) if claimed else None),
                key_label=key.label if key else None,
                key_id=key.api_key if key else claimed,
            )
        )
        log.debug("%s %s %s -> %s %s", state.name, request.method, request.path, status, key.masked if key else "-")
