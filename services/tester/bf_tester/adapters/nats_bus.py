"""The bus side of the tester's ports: probe requests to the connector, durable publishing."""

from __future__ import annotations

import asyncio
import logging

import nats.errors
from faststream.exceptions import SubscriberNotFound
from faststream.nats import NatsBroker
from pydantic import ValidationError

from bf_shared import bus, subjects
from bf_shared.messages import Message, ProbeReply, ProbeRequest

from bf_tester.ports import ProbeUnavailable

log = logging.getLogger(__name__)


class NatsProbe:
    """:class:`bf_tester.ports.ProbePort` over core NATS request/reply.

    The connector of each exchange answers on :func:`bf_shared.subjects.probe_subject` in a
    queue group, so exactly one of its replicas handles a request.
    """

    def __init__(self, broker: NatsBroker) -> None:
        self._broker = broker

    async def probe(self, request: ProbeRequest, timeout_s: float) -> ProbeReply:
        """Send the request, wait at most ``timeout_s`` for the reply."""
        subject = subjects.probe_subject(request.exchange)
        try:
            response = await self._broker.request(
                request.model_dump_json().encode(), subject, timeout=timeout_s
            )
        except (nats.errors.Error, TimeoutError, asyncio.TimeoutError, SubscriberNotFound) as e:
            raise ProbeUnavailable(type(e).__name__) from e
        body = response.body
        try:
            return ProbeReply.model_validate_json(body)
        except ValidationError as e:
            # Never echo the body: it is the connector's, and the error text would carry it.
            raise ProbeUnavailable(f"malformed probe reply ({e.error_count()} errors)") from None


class NatsPublisher:
    """:class:`bf_tester.ports.PublishPort` through :func:`bf_shared.bus.publish`."""

    def __init__(self, broker: NatsBroker) -> None:
        self._broker = broker

    async def publish(self, subject: str, message: Message) -> None:
        """Publish durably; JetStream drops a repeat of the same ``message_id``."""
        await bus.publish(self._broker, subject, message)
