"""Request/reply to a connector over core NATS (its replicas answer in a queue group)."""

from __future__ import annotations

import asyncio

import nats.errors
from faststream.exceptions import SubscriberNotFound
from faststream.nats import NatsBroker
from pydantic import ValidationError

from bf_shared import subjects
from bf_shared.strategy import Market
from bf_shared.strategy_messages import MarketRules, MarketsReply, MarketsRequest, OrderReply, OrderRequest

from bf_runner.ports import ConnectorUnavailable

_BUS_ERRORS = (nats.errors.Error, TimeoutError, asyncio.TimeoutError, SubscriberNotFound)


class NatsConnector:
    """:class:`bf_runner.ports.ConnectorPort` over the broker's request/reply."""

    def __init__(self, broker: NatsBroker) -> None:
        self._broker = broker

    async def order(self, request: OrderRequest, timeout_s: float) -> OrderReply:
        subject = subjects.order_subject(request.exchange)
        try:
            response = await self._broker.request(request.model_dump_json().encode(), subject, timeout=timeout_s)
            return OrderReply.model_validate_json(response.body)
        except _BUS_ERRORS as e:
            raise ConnectorUnavailable(type(e).__name__) from e
        except ValidationError as e:
            raise ConnectorUnavailable(f"malformed order reply ({e.error_count()} errors)") from None

    async def markets(self, exchange: str, market: Market, timeout_s: float) -> tuple[MarketRules, ...]:
        request = MarketsRequest(exchange=exchange, market=market)
        try:
            response = await self._broker.request(request.model_dump_json().encode(),
                                                  subjects.markets_subject(exchange), timeout=timeout_s)
            reply = MarketsReply.model_validate_json(response.body)
        except _BUS_ERRORS as e:
            raise ConnectorUnavailable(type(e).__name__) from e
        except ValidationError as e:
            raise ConnectorUnavailable(f"malformed markets reply ({e.error_count()} errors)") from None
        if reply.error is not None:
            raise ConnectorUnavailable(f"markets: {reply.error.code}")
        return reply.markets
