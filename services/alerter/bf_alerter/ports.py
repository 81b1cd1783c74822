"""The alerter's ports: the handlers depend on these, adapters and fakes implement them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from bf_shared.audit import AuditRecord
from bf_shared.messages import Frozen
from bf_shared.notifications import NotificationSettings

from bf_alerter.domain.alerts import Alert
from bf_alerter.domain.state import ConnectionState, ExchangeState

#: A stored value's revision for compare-and-set; None means "not stored yet".
Revision = int | None


class Conflict(Exception):
    """Someone else updated the value since it was read; re-read and retry the event."""


class StateStore(ABC):
    """Per-connection and per-exchange alerting state with optimistic concurrency."""

    @abstractmethod
    async def connection(self, connection_id: str) -> tuple[ConnectionState | None, Revision]: ...

    @abstractmethod
    async def save_connection(self, state: ConnectionState, revision: Revision) -> None:
        """Store ``state`` if the stored revision is still ``revision``; else :class:`Conflict`."""

    @abstractmethod
    async def forget_connection(self, connection_id: str) -> None: ...

    @abstractmethod
    async def exchange(self, exchange: str) -> tuple[ExchangeState | None, Revision]: ...

    @abstractmethod
    async def save_exchange(self, state: ExchangeState, revision: Revision) -> None:
        """Store ``state`` if the stored revision is still ``revision``; else :class:`Conflict`."""


class SettingsStore(ABC):
    """Users' notification settings (written by the gateway)."""

    @abstractmethod
    async def get(self, user_id: str) -> NotificationSettings:
        """The user's settings, or the defaults when they never saved any."""


class DeadLetter(Frozen):
    """An alert that could not be delivered on one channel after the last attempt."""

    alert: Alert
    channel: str
    target: str  # scheme and host only: a webhook URL's path or query may hold a token
    attempts: int
    last_error: str
    failed_at: datetime


class Ledger(ABC):
    """Which alerts went out on which channel (deduplication) and which were dead-lettered."""

    @abstractmethod
    async def done(self, alert_id: str, channel: str) -> bool:
        """True when this alert was already delivered or dead-lettered on ``channel``."""

    @abstractmethod
    async def mark_sent(self, alert_id: str, channel: str) -> None: ...

    @abstractmethod
    async def dead_letter(self, letter: DeadLetter) -> None:
        """Record the failure (and mark the alert done on that channel)."""


@dataclass(frozen=True)
class Delivery:
    """How sending one alert on one channel ended."""

    ok: bool
    attempts: int
    error: str = ""


class Channel(ABC):
    """A way to reach a user (webhook, Telegram, the log)."""

    name: str

    @abstractmethod
    def target(self, settings: NotificationSettings) -> str | None:
        """A loggable description of where this user's alerts go, or None if not configured."""

    @abstractmethod
    async def send(self, alert: Alert, settings: NotificationSettings) -> Delivery:
        """Deliver, retrying transient failures; never raises for a delivery failure."""


class AuditSink(ABC):
    """The immutable audit trail."""

    @abstractmethod
    async def append(self, record: AuditRecord) -> None:
        """Store ``record`` once (idempotent on ``record_id``)."""
