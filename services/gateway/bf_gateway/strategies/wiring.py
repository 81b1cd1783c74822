"""The NATS access of the strategy routes, opened on first use.

The strategy routes reach what the rest of the gateway does not use: bucket
``bf_strategies`` and the connectors' ``markets`` request/reply. Like the notification
routes, they keep their own small connection, opened lazily (so the gateway's start-up and
its in-memory test apps are unaffected) and closed by the router's lifespan. The connection
read model and the auth are the gateway's own. Tests put prebuilt dependencies on
``app.state.strategy_routes``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from faststream.nats import NatsBroker

from bf_shared import subjects
from bf_shared.bus import kv_bucket, make_broker
from bf_shared.messages import new_id, utcnow
from bf_shared.settings import ServiceSettings

from bf_gateway.adapters.kv import NatsKvStore
from bf_gateway.adapters.publisher import NatsPublisher
from bf_gateway.domain.errors import Unavailable
from bf_gateway.entrypoints.security import deps_of
from bf_gateway.strategies.handlers import StrategyDeps
from bf_gateway.strategies.markets import NatsMarkets
from bf_gateway.strategies.store import StrategyStore

_STATE_KEY = "strategy_routes_bus"


class _LazyBus:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._broker: NatsBroker | None = None
        self._parts: tuple[StrategyStore, NatsMarkets, NatsPublisher] | None = None

    async def parts(self) -> tuple[StrategyStore, NatsMarkets, NatsPublisher]:
        async with self._lock:
            if self._parts is None:
                settings = ServiceSettings()
                broker = make_broker(settings.nats_url, "gateway-strategies")
                try:
                    await asyncio.wait_for(broker.connect(), 5.0)
                    js = broker.config.connection_state.stream
                    kv = await kv_bucket(js, subjects.KV_STRATEGIES, replicas=settings.stream_replicas)
                except Exception as e:
                    with contextlib.suppress(Exception):
                        await broker.stop()
                    raise Unavailable(f"The strategy store is unavailable ({type(e).__name__}); try again.") from None
                self._broker = broker
                self._parts = (StrategyStore(NatsKvStore(kv)), NatsMarkets(broker), NatsPublisher(broker))
            return self._parts

    async def close(self) -> None:
        broker, self._broker, self._parts = self._broker, None, None
        if broker is not None:
            with contextlib.suppress(Exception):
                await broker.stop()


async def strategy_deps(request: Request) -> StrategyDeps:
    """Injected dependencies (tests) or the lazily connected real ones."""
    injected: Any = getattr(request.app.state, "strategy_routes", None)
    if injected is not None:
        return injected  # type: ignore[no-any-return]
    bus: _LazyBus | None = getattr(request.app.state, _STATE_KEY, None)
    if bus is None:
        bus = _LazyBus()
        setattr(request.app.state, _STATE_KEY, bus)
    store, markets, publisher = await bus.parts()
    gateway = deps_of(request)
    return StrategyDeps(strategies=store, connections=gateway.connections.views, markets=markets,
                        publisher=publisher, clock=utcnow, new_id=new_id)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Close the lazily opened connection when the gateway stops."""
    try:
        yield
    finally:
        bus: _LazyBus | None = getattr(app.state, _STATE_KEY, None)
        if bus is not None:
            await bus.close()
