"""Orders for the strategy runners: place, cancel, query and list open orders through ccxt.

Every order carries the runner's deterministic client order id, and everything here works
by that id, so any call may be repeated safely:

* **place** — ``create_order`` with the client id. If it fails in a way that could mean
  "already placed" (the exchange reports a duplicate id, or the answer was lost to a
  timeout), the order is looked up by its client id and, if found, returned as the result:
  a retry or a failover never places an order twice. The placed order is then fetched once
  so the reply carries its fills (MEXC answers a placement with the id only).
* **cancel** — looks the order up by client id, cancels it if it is still open, and returns
  its final state (fills included); an order that is already done is returned as it is.
* **query** — the order's current state by client id.

Before a **place** reaches the exchange, the connection's verdict must have passed for the
key version this connector signs with (:mod:`bf_connector.domain.order_guard`), else the
reply is ``connection_not_verified``: a new or failed key never trades, whatever the
runners believe.

Failures leave as :class:`~bf_shared.strategy_messages.OrderError`: first classified on the
exchange's own code by the venue (bad key, IP, permission, down, throttled, clock), then,
for what the venue table does not cover, by ccxt's order exception classes (insufficient
funds, invalid order, unknown order) — which ccxt itself derives from the exchange's codes.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
from faststream.nats import NatsBroker

from bf_shared import subjects
from bf_shared.codes import ErrorCode
from bf_shared.strategy_messages import (
    RETRYABLE_ORDER_ERRORS,
    OrderError,
    OrderErrorCode,
    OrderReply,
    OrderRequest,
    OrderView,
)
from bf_shared.vault import SecretNotFound, SecretReader, VaultError

from bf_connector.clock import Clock
from bf_connector.domain.order_guard import Refusal, place_refusal
from bf_connector.errors import translate
from bf_connector.exchanges.base import VenueSession
from bf_connector.exchanges.clients import ClientFactory
from bf_connector.metrics import ConnectorMetrics
from bf_connector.verdicts import VerdictSource

log = logging.getLogger(__name__)

#: The venue's classification (probe vocabulary) -> the order vocabulary.
_FROM_PROBE: dict[str, OrderErrorCode] = {
    ErrorCode.INVALID_KEY: "invalid_key",
    ErrorCode.INVALID_PASSPHRASE: "invalid_key",
    ErrorCode.IP_NOT_ALLOWED: "ip_not_allowed",
    ErrorCode.NO_READ_PERMISSION: "permission_denied",
    ErrorCode.NO_TRADE_PERMISSION: "permission_denied",
    ErrorCode.NO_FUTURES_PERMISSION: "permission_denied",
    "permission_denied": "permission_denied",
    ErrorCode.EXCHANGE_UNAVAILABLE: "exchange_unavailable",
    ErrorCode.RATE_LIMITED: "rate_limited",
    ErrorCode.CLOCK_SKEW: "clock_skew",
    "not_supported": "not_supported",
}

#: Order-specific exchange codes the venues' probe tables do not cover. On an order lookup a
#: generic parameter error (KuCoin 400100) means the id is unknown, so lookups treat
#: ``invalid_order`` as "no such order".
#: MEXC: https://mexcdevelop.github.io/apidocs/spot_v3_en/#error-code (-2011 unknown order on
#: cancel, -2013 on query, 30004/10101 insufficient balance, -2010/603 duplicate client id).
#: KuCoin: https://www.kucoin.com/docs-new/error-code (200004/600100 insufficient balance,
#: 126044 duplicate clientOid on HF orders, 400100 parameter error).
ORDER_CODES: dict[str, dict[str, OrderErrorCode]] = {
    "mexc": {"-2011": "order_not_found", "-2013": "order_not_found", "30004": "insufficient_funds",
             "10101": "insufficient_funds", "-2010": "invalid_order", "603": "invalid_order"},
    "kucoin": {"200004": "insufficient_funds", "600100": "insufficient_funds", "126044": "invalid_order",
               "400100": "invalid_order"},
}

_STATUSES = {"open", "closed", "canceled", "expired", "rejected"}


class OrderFailure(Exception):
    """An order call failed; ``error`` says why (never secret material)."""

    def __init__(self, error: OrderError) -> None:
        super().__init__(error.code)
        self.error = error


def _failure(code: OrderErrorCode, detail: str = "", exchange_code: str | None = None) -> OrderFailure:
    return OrderFailure(OrderError(code=code, retryable=code in RETRYABLE_ORDER_ERRORS,
                                   exchange_code=exchange_code, detail=detail))


def classify(exc: BaseException, session: VenueSession, clock: Clock) -> OrderFailure:
    """The one translation of a ccxt failure of an order call."""
    # The venue needs the call's secrets to scrub them from any echoed detail.
    secrets = session._secrets()  # noqa: SLF001 - same boundary as VenueSession.call
    probe = translate(exc, session.venue.classify_raw_with(clock, secrets), exchange_id=session.venue.id).error
    mapped = _FROM_PROBE.get(str(probe.code))
    if mapped is not None:
        return _failure(mapped, probe.detail, probe.exchange_code)
    by_code = ORDER_CODES.get(session.venue.id, {}).get(probe.exchange_code or "")
    if by_code is not None:
        return _failure(by_code, probe.detail, probe.exchange_code)
    if isinstance(exc, ccxt.OrderNotFound):
        return _failure("order_not_found", "the exchange does not know this order", probe.exchange_code)
    if isinstance(exc, ccxt.InsufficientFunds):
        return _failure("insufficient_funds", "the balance does not cover this order", probe.exchange_code)
    if isinstance(exc, ccxt.InvalidOrder):  # DuplicateOrderId included: the caller looks it up
        return _failure("invalid_order", probe.detail or "the exchange refused the order", probe.exchange_code)
    return _failure("unknown", probe.detail, probe.exchange_code)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def order_view(order: dict[str, Any], request: OrderRequest) -> OrderView:
    """A ccxt order structure as the bus shows it."""
    fee_cost, fee_currency = Decimal(0), None
    for fee in order.get("fees") or ([order["fee"]] if order.get("fee") else []):
        if fee and fee.get("cost") is not None:
            fee_cost += Decimal(str(fee["cost"]))
            fee_currency = fee.get("currency") or fee_currency
    status = order.get("status") if order.get("status") in _STATUSES else "open"
    amount = _dec(order.get("amount")) or request.amount or Decimal(0)
    filled = _dec(order.get("filled")) or Decimal(0)
    average = _dec(order.get("average"))
    cost = _dec(order.get("cost"))
    if cost is None or (cost == 0 and filled > 0 and average is not None):
        cost = filled * (average or Decimal(0))
    return OrderView(
        client_order_id=order.get("clientOrderId") or request.client_order_id, exchange_order_id=order.get("id"),
        symbol=request.symbol, side=order.get("side") or request.side or "buy", type=order.get("type") or request.type or "limit",
        price=_dec(order.get("price")) or request.price, amount=amount, filled=filled, average=average, cost=cost,
        status=status, fee_cost=fee_cost, fee_currency=fee_currency, timestamp_ms=order.get("timestamp"),
    )


class Orders:
    """Order calls for one connection's session (spot or futures client)."""

    def __init__(self, session: VenueSession, request: OrderRequest, clock: Clock) -> None:
        self.session = session
        self.request = request
        self.clock = clock
        self.client: ccxt_async.Exchange = session.client(futures=request.market == "futures")

    async def _call(self, name: str, *args: Any) -> Any:
        try:
            return await getattr(self.client, name)(*args)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            raise classify(e, self.session, self.clock) from e

    async def markets(self) -> None:
        """Load the markets once per client, without ccxt's currency list.

        With credentials set, ``load_markets`` also fetches currencies, which on MEXC is a
        signed wallet call (``capital/config/getall``) a trade-only key may not make; orders
        need the markets alone.
        """
        if not self.client.markets:
            self.client.set_markets(await self._call("fetch_markets"))

    async def find(self) -> dict[str, Any] | None:
        """The order with the request's client id, or None when the exchange has none."""
        cid = self.request.client_order_id
        symbol = self.request.symbol
        await self.markets()
        try:
            if self.request.market == "futures" and self.session.venue.id == "mexc":
                # ccxt's MEXC fetchOrder takes exchange ids only on contracts; look up by externalOid.
                market = self.client.market(symbol)
                raw = await self._call("contractPrivateGetOrderExternalSymbolExternalOid",
                                       {"symbol": market["id"], "external_oid": cid})
                data = raw.get("data") if isinstance(raw, dict) else None
                return self.client.parse_order(data, market) if data else None
            found = await self._call("fetch_order", None, symbol, {"clientOrderId": cid})
            # KuCoin answers an unknown clientOid with ``data: null``: ccxt parses an empty order.
            return found if isinstance(found, dict) and found.get("id") else None
        except OrderFailure as f:
            if f.error.code in ("order_not_found", "invalid_order"):
                return None
            raise

    async def place(self) -> dict[str, Any]:
        r = self.request
        params: dict[str, Any] = {"clientOrderId": r.client_order_id}
        if r.market == "futures":
            params["reduceOnly"] = r.reduce_only
            params["leverage"] = r.leverage or 1
        price = float(r.price) if r.type == "limit" and r.price is not None else None
        await self.markets()
        try:
            placed = await self._call("create_order", r.symbol, r.type, r.side, float(r.amount or 0), price, params)
        except OrderFailure as f:
            # A duplicate id, or an answer lost on the way: the order may exist already.
            if f.error.code in ("invalid_order", "unknown") or f.error.retryable:
                existing = await self._find_quietly()
                if existing is not None:
                    log.info("order %s already on the exchange: returning it", r.client_order_id)
                    return existing
            raise
        if placed.get("status") in _STATUSES and placed.get("filled") is not None:
            return placed  # type: ignore[no-any-return]
        return (await self._find_quietly()) or placed

    async def _find_quietly(self) -> dict[str, Any] | None:
        try:
            return await self.find()
        except OrderFailure:
            return None

    async def cancel(self) -> dict[str, Any]:
        order = await self.find()
        if order is None:
            raise _failure("order_not_found", "the exchange does not know this order")
        if order.get("status") not in (None, "open"):
            return order  # already done: report its final state
        try:
            await self._call("cancel_order", order["id"], self.request.symbol)
        except OrderFailure as f:
            if f.error.code not in ("order_not_found", "invalid_order"):
                raise  # filled or cancelled in between: the lookup below tells which
        return (await self.find()) or {**order, "status": "canceled"}

    async def query(self) -> dict[str, Any]:
        order = await self.find()
        if order is None:
            raise _failure("order_not_found", "the exchange does not know this order")
        return order

    async def open_orders(self) -> list[dict[str, Any]]:
        await self.markets()
        return await self._call("fetch_open_orders", self.request.symbol)  # type: ignore[no-any-return]


async def _place_refusal(request: OrderRequest, session: VenueSession, verdicts: VerdictSource) -> Refusal | None:
    """The guard of :mod:`bf_connector.domain.order_guard` for this placement.

    A refusal from the watched copy is checked once more against the bucket itself (unless
    nothing is loaded yet): the tester stores a verdict before it announces it, so a runner
    resuming on the announcement may be a moment ahead of the watch.
    """
    version = session.secret_version
    refusal = place_refusal(verdicts.get(request.connection_id), version, loaded=verdicts.loaded)
    if refusal is None or refusal.reason == "not_loaded":
        return refusal
    return place_refusal(await verdicts.refresh(request.connection_id), version, loaded=True)


async def _execute(request: OrderRequest, session: VenueSession, clock: Clock) -> OrderReply:
    orders = Orders(session, request, clock)
    if request.action == "open_orders":
        found = await orders.open_orders()
        return OrderReply(request_id=request.request_id, ok=True, orders=tuple(order_view(o, request) for o in found))
    action = {"place": orders.place, "cancel": orders.cancel, "query": orders.query}[request.action]
    order = await action()
    return OrderReply(request_id=request.request_id, ok=True, order=order_view(order, request))


async def handle_order(request: OrderRequest, *, reader: SecretReader, clients: ClientFactory, clock: Clock,
                       verdicts: VerdictSource, metrics: ConnectorMetrics | None = None) -> OrderReply:
    """Answer one order request (request/reply); never raises.

    A ``place`` goes to the exchange only when the connection's verdict passed for the key
    version this connector signs with (the latest in Vault); otherwise it is refused with
    ``connection_not_verified`` before any exchange call. Cancels, queries and listings are
    never held back, so a disabled strategy can always clean up its orders.
    """
    def failed(error: OrderError) -> OrderReply:
        return OrderReply(request_id=request.request_id, ok=False, error=error)

    if request.exchange != clients.venue.id:
        return failed(OrderError(code="not_supported", detail=f"this connector serves {clients.venue.id}"))
    if request.action in ("place", "cancel", "query") and not request.client_order_id:
        return failed(OrderError(code="invalid_order", detail="client_order_id is required"))
    if request.action == "place" and (request.side is None or request.type is None or request.amount is None
                                      or (request.type == "limit" and request.price is None)):
        return failed(OrderError(code="invalid_order", detail="side, type, amount (and a limit price) are required"))
    try:
        refusal: Refusal | None = None
        for attempt in (1, 2):
            async with clients.lease(request.connection_id, None, reader) as session:
                refusal = await _place_refusal(request, session, verdicts) if request.action == "place" else None
                if refusal is None:
                    return await _execute(request, session, clock)
            if not (refusal.stale_client and attempt == 1):
                break
            # The cached client predates the key that passed (a missed rotation event): read Vault again.
            clients.evict(request.connection_id)
        assert refusal is not None
        if metrics is not None:
            metrics.orders_refused.labels(clients.venue.id, refusal.reason).inc()
        log.warning("order %s of connection %s refused: %s", request.client_order_id, request.connection_id,
                    refusal.detail)
        return failed(OrderError(code="connection_not_verified", detail=refusal.detail))
    except OrderFailure as f:
        return failed(f.error)
    except SecretNotFound:
        return failed(OrderError(code="invalid_key", detail="no credentials stored for this connection"))
    except VaultError:
        return failed(OrderError(code="exchange_unavailable", retryable=True, detail="the secret store is unavailable"))


def register(broker: NatsBroker, *, reader: SecretReader, clients: ClientFactory, clock: Clock,
             verdicts: VerdictSource, metrics: ConnectorMetrics | None = None, concurrency: int = 32) -> None:
    """Attach the order responder (queue group: one replica answers each request)."""

    @broker.subscriber(subjects.order_subject(clients.venue.id), queue=subjects.CONNECTOR_QUEUE,
                       max_workers=concurrency)
    async def on_order(request: OrderRequest) -> OrderReply:
        return await handle_order(request, reader=reader, clients=clients, clock=clock, verdicts=verdicts,
                                  metrics=metrics)
