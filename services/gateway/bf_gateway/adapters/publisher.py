"""Publishing events and commands: the port, and the adapter over the shared bus helper."""

from __future__ import annotations

import abc

from faststream.nats import NatsBroker
from pydantic import BaseModel

from bf_shared import bus


class PublishFailed(Exception):
    """The bus did not acknowledge the message; the caller may retry (publishes de-duplicate)."""


class Publisher(abc.ABC):
    """Durable publishing to a JetStream subject."""

    @abc.abstractmethod
    async def publish(self, subject: str, message: BaseModel) -> None:
        """Publish ``message``; returns once the stream acknowledged it."""


class NatsPublisher(Publisher):
    """:class:`Publisher` through :func:`bf_shared.bus.publish` (sets ``Nats-Msg-Id``)."""

    def __init__(self, broker: NatsBroker) -> None:
        self._broker = broker

    async def publish(self, subject: str, message: BaseModel) -> None:
        try:
            await bus.publish(self._broker, subject, message)
        except Exception as e:  # any transport failure is the same to the caller: not stored
            raise PublishFailed(f"publish to {subject} failed: {type(e).__name__}") from None
