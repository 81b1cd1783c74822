"""Which pairs an exchange lists: asked of its connector (request/reply), cached.

The gateway rejects a strategy on a pair the exchange does not trade. The connector is the
only service that talks to exchanges, so it answers ``bf.rpc.connector.<ex>.markets``; the
answer is cached for ``ttl_s`` so creating strategies does not cost an exchange call each.
"""

from __future__ import annotations

import abc
import asyncio
import time

import nats.errors
from faststream.exceptions import SubscriberNotFound
from faststream.nats import NatsBroker
from pydantic import ValidationError

from bf_shared import subjects
from bf_shared.strategy import Market
from bf_shared.strategy_messages import MarketsReply, MarketsRequest


class MarketsUnavailable(Exception):
    """No connector answered (or it could not reach the exchange)."""


class Markets(abc.ABC):
    """The port: tradable ``BASE/QUOTE`` pairs of an exchange's market."""

    @abc.abstractmethod
    async def pairs(self, exchange: str, market: Market) -> frozenset[str]:
        """Raises :class:`MarketsUnavailable`."""


class NatsMarkets(Markets):
    """:class:`Markets` over the connector's ``markets`` request/reply, cached per (exchange, market)."""

    def __init__(self, broker: NatsBroker, ttl_s: float = 600.0, timeout_s: float = 10.0) -> None:
        self._broker = broker
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._cache: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}
        self._lock = asyncio.Lock()

    async def pairs(self, exchange: str, market: Market) -> frozenset[str]:
        async with self._lock:
            cached = self._cache.get((exchange, market))
            if cached is not None and time.monotonic() - cached[0] < self._ttl_s:
                return cached[1]
            request = MarketsRequest(exchange=exchange, market=market)
            try:
                response = await self._broker.request(request.model_dump_json().encode(),
                                                      subjects.markets_subject(exchange), timeout=self._timeout_s)
                reply = MarketsReply.model_validate_json(response.body)
            except (nats.errors.Error, TimeoutError, asyncio.TimeoutError, SubscriberNotFound) as e:
                raise MarketsUnavailable(type(e).__name__) from None
            except ValidationError:
                raise MarketsUnavailable("malformed reply") from None
            if reply.error is not None:
                raise MarketsUnavailable(reply.error.code)
            found = frozenset(m.pair for m in reply.markets if m.active)
            self._cache[(exchange, market)] = (time.monotonic(), found)
            return found


class StaticMarkets(Markets):
    """Fixed pairs per (exchange, market), for tests and the in-memory gateway."""

    def __init__(self, pairs: dict[tuple[str, str], frozenset[str]] | None = None, *, available: bool = True) -> None:
        self.known = pairs or {}
        self.available = available

    async def pairs(self, exchange: str, market: Market) -> frozenset[str]:
        if not self.available:
            raise MarketsUnavailable("fake is down")
        return self.known.get((exchange, market), frozenset())
