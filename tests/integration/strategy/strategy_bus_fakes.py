"""Test doubles on a real NATS bus for runner integration tests.

:class:`BusVenue` answers the connector's order and markets calls like a connector backed by
an exchange that fills limit orders when the price crosses them and de-duplicates on client
order id; it publishes ticks. :func:`put_spec` writes a strategy the way the gateway does.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.kv import KeyValue

from bf_launch.procs import Child, ProcessSpec, clean_env, free_port
from bf_shared import subjects
from bf_shared.strategy import StrategyParams
from bf_shared.strategy_messages import (
    MarketRules,
    MarketsReply,
    MarketsRequest,
    OrderError,
    OrderReply,
    OrderRequest,
    OrderView,
    StrategySpec,
    StrategyStatusView,
    Tick,
    by_connection_key,
    spec_key,
    status_key,
)

EXCHANGE = "mexc"


def rules_for(pair: str) -> MarketRules:
    base, quote = pair.split("/")
    return MarketRules(symbol=pair, pair=pair, base=base, quote=quote, market="spot",
                       amount_step=Decimal("0.0001"), price_step=Decimal("0.01"),
                       min_amount=Decimal("0.0001"), min_cost=Decimal(1))


@dataclass
class VenueOrder:
    request: OrderRequest
    filled: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    status: str = "open"

    def view(self) -> OrderView:
        r = self.request
        assert r.side and r.type and r.amount
        return OrderView(client_order_id=r.client_order_id, exchange_order_id=r.client_order_id, symbol=r.symbol,
                         side=r.side, type=r.type, price=r.price, amount=r.amount, filled=self.filled,
                         cost=self.cost, status=self.status, fee_cost=self.cost / 1000, fee_currency="USDT")  # type: ignore[arg-type]


@dataclass
class BusVenue:
    """A connector double: one in-memory exchange behind the bus."""

    nc: Client
    pairs: tuple[str, ...] = ("BTC/USDT", "ETH/USDT")
    prices: dict[str, Decimal] = field(default_factory=dict)
    orders: dict[str, VenueOrder] = field(default_factory=dict)
    place_calls: int = 0
    available: bool = True

    async def start(self) -> None:
        await self.nc.subscribe(subjects.order_subject(EXCHANGE), queue=subjects.CONNECTOR_QUEUE, cb=self._order)
        await self.nc.subscribe(subjects.markets_subject(EXCHANGE), queue=subjects.CONNECTOR_QUEUE, cb=self._markets)

    async def _markets(self, msg: Msg) -> None:
        request = MarketsRequest.model_validate_json(msg.data)
        reply = MarketsReply(exchange=EXCHANGE, market=request.market,
                             markets=tuple(rules_for(p) for p in self.pairs))
        await msg.respond(reply.model_dump_json().encode())

    def _fill(self, order: VenueOrder, price: Decimal) -> None:
        amount = order.request.amount or Decimal(0)
        order.filled, order.cost, order.status = amount, amount * price, "closed"

    async def _order(self, msg: Msg) -> None:
        request = OrderRequest.model_validate_json(msg.data)
        if not self.available:
            return  # no reply: the runner times out and retries with the same client id
        cid = request.client_order_id or ""
        order = self.orders.get(cid)
        if request.action == "place":
            self.place_calls += 1
            if order is None:
                order = VenueOrder(request)
                self.orders[cid] = order
                market = self.prices[request.symbol]
                if request.type == "market" or (request.side == "buy" and (request.price or 0) >= market) or (
                        request.side == "sell" and (request.price or 0) <= market):
                    self._fill(order, market)
        elif order is None:
            reply = OrderReply(request_id=request.request_id, ok=False,
                               error=OrderError(code="order_not_found", detail="no such order"))
            await msg.respond(reply.model_dump_json().encode())
            return
        elif request.action == "cancel" and order.status == "open":
            order.status = "canceled"
        reply = OrderReply(request_id=request.request_id, ok=True, order=order.view())
        await msg.respond(reply.model_dump_json().encode())

    async def tick(self, pair: str, price: Decimal | int | str) -> None:
        """Move the market (resting orders fill at their price) and publish the tick."""
        p = Decimal(str(price))
        self.prices[pair] = p
        for order in self.orders.values():
            r = order.request
            if r.symbol == pair and order.status == "open" and r.type == "limit" and r.price is not None and (
                    (r.side == "buy" and p <= r.price) or (r.side == "sell" and p >= r.price)):
                self._fill(order, r.price)
        tick = Tick(exchange=EXCHANGE, market="spot", symbol=pair, last=p, ts_ms=int(time.time() * 1000))
        await self.nc.publish(subjects.ticks_subject(EXCHANGE, pair), tick.model_dump_json().encode())

    def open_orders(self, strategy_id: str | None = None) -> list[VenueOrder]:
        return [o for o in self.orders.values() if o.status == "open"
                and (strategy_id is None or o.request.strategy_id == strategy_id)]

    def placed(self, strategy_id: str) -> list[VenueOrder]:
        return [o for o in self.orders.values() if o.request.strategy_id == strategy_id]


def spec(strategy_id: str, params: StrategyParams, connection_id: str = "conn1", **over: object) -> StrategySpec:
    return StrategySpec(strategy_id=strategy_id, user_id="user1", connection_id=connection_id, exchange=EXCHANGE,
                        params=params, **over)  # type: ignore[arg-type]


async def put_spec(kv: KeyValue, value: StrategySpec) -> None:
    """What the gateway writes for a strategy."""
    await kv.put(spec_key(value.strategy_id), value.model_dump_json().encode())
    await kv.put(by_connection_key(value.connection_id, value.strategy_id), b"")


async def status_of(kv: KeyValue, strategy_id: str) -> StrategyStatusView | None:
    try:
        entry = await kv.get(status_key(strategy_id))
    except Exception:
        return None
    return StrategyStatusView.model_validate_json(entry.value) if entry.value else None


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float, what: str,
                     every: Callable[[], Awaitable[None]] | None = None) -> float:
    """Poll ``check`` until true; returns the seconds it took. ``every`` runs between polls."""
    start = time.monotonic()
    while True:
        if await check():
            return time.monotonic() - start
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        if every is not None:
            await every()
        await asyncio.sleep(0.2)


def runner_process(name: str, nats_url: str, log_dir: Path, **env: str) -> Child:
    """``python -m bf_runner`` as a child process, ready when its /healthz answers 200."""
    port = free_port()
    values = clean_env()
    values.update({
        "BACKFUTURE_NATS_URL": nats_url, "BACKFUTURE_OPS_PORT": str(port), "BACKFUTURE_RUNNER_ID": name,
        "BACKFUTURE_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
    })
    values.update(env)
    spec_ = ProcessSpec(name=name, argv=(sys.executable, "-m", "bf_runner"), env=values,
                        health_url=f"http://127.0.0.1:{port}/healthz", cwd=Path(os.getcwd()))
    return Child(spec_, log_dir)
