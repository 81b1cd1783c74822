"""Durable event publishing through :func:`bf_shared.bus.publish`."""

from __future__ import annotations

from faststream.nats import NatsBroker

from bf_shared import bus
from bf_shared.messages import Message


class NatsEvents:
    """:class:`bf_runner.ports.EventPort`: JetStream drops a repeat of the same ``message_id``."""

    def __init__(self, broker: NatsBroker) -> None:
        self._broker = broker

    async def publish(self, subject: str, message: Message) -> None:
        await bus.publish(self._broker, subject, message)
