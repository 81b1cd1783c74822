"""In-memory implementations of the ports, with the KV adapters' semantics (for unit tests)."""

from __future__ import annotations

from bf_shared.audit import AuditRecord
from bf_shared.notifications import NotificationSettings

from bf_alerter.domain.alerts import Alert
from bf_alerter.domain.state import ConnectionState, ExchangeState
from bf_alerter.ports import (
    AuditSink,
    Channel,
    Conflict,
    DeadLetter,
    Delivery,
    Ledger,
    Revision,
    SettingsStore,
    StateStore,
)


class MemoryStateStore(StateStore):
    """Compare-and-set on a revision counter, like KV."""

    def __init__(self) -> None:
        self.connections: dict[str, tuple[ConnectionState, int]] = {}
        self.exchanges: dict[str, tuple[ExchangeState, int]] = {}
        self._revision = 0

    def _next(self) -> int:
        self._revision += 1
        return self._revision

    async def connection(self, connection_id: str) -> tuple[ConnectionState | None, Revision]:
        found = self.connections.get(connection_id)
        return (found[0], found[1]) if found else (None, None)

    async def save_connection(self, state: ConnectionState, revision: Revision) -> None:
        current = self.connections.get(state.connection_id)
        if (current[1] if current else None) != revision:
            raise Conflict(state.connection_id)
        self.connections[state.connection_id] = (state, self._next())

    async def forget_connection(self, connection_id: str) -> None:
        self.connections.pop(connection_id, None)

    async def exchange(self, exchange: str) -> tuple[ExchangeState | None, Revision]:
        found = self.exchanges.get(exchange)
        return (found[0], found[1]) if found else (None, None)

    async def save_exchange(self, state: ExchangeState, revision: Revision) -> None:
        current = self.exchanges.get(state.exchange)
        if (current[1] if current else None) != revision:
            raise Conflict(state.exchange)
        self.exchanges[state.exchange] = (state, self._next())


class MemorySettingsStore(SettingsStore):
    def __init__(self, *settings: NotificationSettings) -> None:
        self.by_user = {s.user_id: s for s in settings}

    async def get(self, user_id: str) -> NotificationSettings:
        return self.by_user.get(user_id) or NotificationSettings(user_id=user_id)


class MemoryLedger(Ledger):
    def __init__(self) -> None:
        self.marks: dict[tuple[str, str], str] = {}
        self.dead: list[DeadLetter] = []

    async def done(self, alert_id: str, channel: str) -> bool:
        return (alert_id, channel) in self.marks

    async def mark_sent(self, alert_id: str, channel: str) -> None:
        self.marks[(alert_id, channel)] = "sent"

    async def dead_letter(self, letter: DeadLetter) -> None:
        self.dead.append(letter)
        self.marks[(letter.alert.alert_id, letter.channel)] = "dead"


class RecordingChannel(Channel):
    """Records what it is asked to send; ``fail_with`` makes every delivery fail."""

    def __init__(self, name: str = "webhook", *, fail_with: str = "", configured: bool = True) -> None:
        self.name = name
        self.sent: list[Alert] = []
        self.fail_with = fail_with
        self.configured = configured

    def target(self, settings: NotificationSettings) -> str | None:
        return f"{self.name}://test" if self.configured else None

    async def send(self, alert: Alert, settings: NotificationSettings) -> Delivery:
        self.sent.append(alert)
        if self.fail_with:
            return Delivery(ok=False, attempts=3, error=self.fail_with)
        return Delivery(ok=True, attempts=1)


class MemoryAuditSink(AuditSink):
    """Keeps the first record per ``record_id``, like the stream's de-duplication."""

    def __init__(self) -> None:
        self.records: dict[str, AuditRecord] = {}

    async def append(self, record: AuditRecord) -> None:
        self.records.setdefault(record.record_id, record)
