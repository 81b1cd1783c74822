"""NATS adapters: alerting state, the delivery ledger and dead letters in KV; audit in JetStream.

Buckets (created at start-up by the bootstrap):

* ``bf_alerter`` — ``conn.<connection_id>`` and ``exch.<exchange>`` state, updated with
  compare-and-set on the entry revision (several alerter replicas may run).
* ``bf_alert_ledger`` — ``<alert_id>.<channel>`` once delivered (or dead-lettered); entries
  expire after the TTL, far longer than any redelivery.
* ``bf_alert_dead_letters`` — ``<alert_id>.<channel>`` -> :class:`DeadLetter` JSON.
* ``bf_notifications`` — users' settings, written by the gateway, only read here.
"""

from __future__ import annotations

from nats.js.client import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from bf_shared.audit import AuditRecord, audit_subject
from bf_shared.notifications import NotificationSettings
from bf_shared.subjects import AUDIT_STREAM

from bf_alerter.domain.state import ConnectionState, ExchangeState
from bf_alerter.ports import AuditSink, Conflict, DeadLetter, Ledger, Revision, SettingsStore, StateStore

KV_ALERTER = "bf_alerter"
KV_LEDGER = "bf_alert_ledger"
KV_DEAD_LETTERS = "bf_alert_dead_letters"


def _key_token(value: str) -> str:
    if not value or not all(c.isalnum() or c in "-_" for c in value):
        raise ValueError("identifier is not a valid KV key token")
    return value


async def _cas(kv: KeyValue, key: str, value: bytes, revision: Revision) -> None:
    try:
        if revision is None:
            await kv.create(key, value)
        else:
            await kv.update(key, value, last=revision)
    except KeyWrongLastSequenceError as e:
        raise Conflict(key) from e


class KvStateStore(StateStore):
    """Alerting state in the ``bf_alerter`` bucket."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def _get(self, key: str) -> tuple[bytes | None, Revision]:
        try:
            entry = await self._kv.get(key)
        except KeyNotFoundError:
            return None, None
        return entry.value, entry.revision

    async def connection(self, connection_id: str) -> tuple[ConnectionState | None, Revision]:
        data, rev = await self._get(f"conn.{_key_token(connection_id)}")
        return (ConnectionState.model_validate_json(data) if data else None), rev

    async def save_connection(self, state: ConnectionState, revision: Revision) -> None:
        await _cas(self._kv, f"conn.{_key_token(state.connection_id)}", state.model_dump_json().encode(), revision)

    async def forget_connection(self, connection_id: str) -> None:
        await self._kv.delete(f"conn.{_key_token(connection_id)}")

    async def exchange(self, exchange: str) -> tuple[ExchangeState | None, Revision]:
        data, rev = await self._get(f"exch.{_key_token(exchange)}")
        return (ExchangeState.model_validate_json(data) if data else None), rev

    async def save_exchange(self, state: ExchangeState, revision: Revision) -> None:
        await _cas(self._kv, f"exch.{_key_token(state.exchange)}", state.model_dump_json().encode(), revision)


class KvSettingsStore(SettingsStore):
    """Reads ``bf_notifications``; a user who never saved settings gets the defaults."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def get(self, user_id: str) -> NotificationSettings:
        try:
            entry = await self._kv.get(_key_token(user_id))
        except KeyNotFoundError:
            return NotificationSettings(user_id=user_id)
        if not entry.value:
            return NotificationSettings(user_id=user_id)
        return NotificationSettings.from_kv(entry.value)


class KvLedger(Ledger):
    """Delivery marks and dead letters in KV."""

    def __init__(self, ledger: KeyValue, dead_letters: KeyValue) -> None:
        self._ledger = ledger
        self._dead = dead_letters

    async def done(self, alert_id: str, channel: str) -> bool:
        try:
            entry = await self._ledger.get(f"{_key_token(alert_id)}.{_key_token(channel)}")
        except KeyNotFoundError:
            return False
        return entry.value is not None

    async def mark_sent(self, alert_id: str, channel: str) -> None:
        await self._ledger.put(f"{_key_token(alert_id)}.{_key_token(channel)}", b"sent")

    async def dead_letter(self, letter: DeadLetter) -> None:
        key = f"{_key_token(letter.alert.alert_id)}.{_key_token(letter.channel)}"
        await self._dead.put(key, letter.model_dump_json().encode())
        await self._ledger.put(key, b"dead")


class JetStreamAuditSink(AuditSink):
    """Publishes records to ``BF_AUDIT``; ``Nats-Msg-Id`` = ``audit.<record_id>`` de-duplicates.

    The prefix matters: the gateway also writes some events straight into ``BF_AUDIT`` (e.g.
    ``bf.audit.connection.attested``) under the event's own id, and the stream's duplicate
    window is per stream: with the bare id, the per-user record would be dropped as a
    duplicate of that one.
    """

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def append(self, record: AuditRecord) -> None:
        await self._js.publish(
            audit_subject(record.user_id, record.kind),
            record.model_dump_json().encode(),
            stream=AUDIT_STREAM,
            headers={"Nats-Msg-Id": f"audit.{record.record_id}", "Content-Type": "application/json"},
        )
