"""Trading rules from the connector, cached per exchange and market.

A strategy needs the rules of its pairs (amount and price steps, minimums) once, when it
first starts; they are then part of its persisted state. The cache spares the connector one
``markets`` call per strategy when a runner takes over thousands at once.
"""

from __future__ import annotations

import asyncio

from bf_shared.strategy import Market
from bf_shared.strategy_messages import MarketRules

from bf_runner.ports import Clock, ConnectorPort


class MarketsCache:
    """``pair -> rules`` per (exchange, market), refreshed after ``ttl_s``; one call in flight per key."""

    def __init__(self, connector: ConnectorPort, clock: Clock, ttl_s: float, timeout_s: float) -> None:
        self._connector = connector
        self._clock = clock
        self._ttl_ms = int(ttl_s * 1000)
        self._timeout_s = timeout_s
        self._cache: dict[tuple[str, str], tuple[int, dict[str, MarketRules]]] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def rules(self, exchange: str, market: Market) -> dict[str, MarketRules]:
        """Rules by ``BASE/QUOTE`` pair; raises ``ConnectorUnavailable``."""
        key = (exchange, market)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._cache.get(key)
            now = self._clock.now_ms()
            if cached is not None and now - cached[0] < self._ttl_ms:
                return cached[1]
            markets = await self._connector.markets(exchange, market, self._timeout_s)
            by_pair = {m.pair: m for m in markets if m.market == market and m.active}
            self._cache[key] = (now, by_pair)
            return by_pair
