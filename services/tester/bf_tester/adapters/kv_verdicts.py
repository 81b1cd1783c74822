"""The connection verdicts in KV bucket ``bf_verdicts`` (:class:`bf_tester.ports.VerdictStore`).

One key per connection (:func:`bf_shared.subjects.verdict_key`), history 1: the connector
watches the bucket and needs only the latest value.
"""

from __future__ import annotations

import logging

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import ValidationError

from bf_shared.messages import ConnectionVerdict
from bf_shared.subjects import verdict_key

log = logging.getLogger(__name__)


class KvVerdictStore:
    """:class:`bf_tester.ports.VerdictStore` on a NATS KV bucket."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def read(self, connection_id: str) -> tuple[ConnectionVerdict | None, int]:
        """The verdict and its revision; a deleted key gives its tombstone's revision."""
        try:
            entry = await self._kv.get(verdict_key(connection_id))
        except KeyNotFoundError as e:
            tombstone = getattr(e, "entry", None)
            return None, int(tombstone.revision or 0) if tombstone is not None else 0
        revision = int(entry.revision or 0)
        if not entry.value:
            return None, revision
        try:
            return ConnectionVerdict.model_validate_json(entry.value), revision
        except ValidationError:
            log.error("verdict of connection %s unreadable: it will be replaced", connection_id)
            return None, revision

    async def write(self, verdict: ConnectionVerdict, revision: int) -> bool:
        """Compare-and-set on ``revision`` (0: the key must never have existed)."""
        try:
            await self._kv.update(verdict_key(verdict.connection_id), verdict.model_dump_json().encode(),
                                  last=revision)
        except KeyWrongLastSequenceError:
            return False
        return True

    async def delete(self, connection_id: str) -> None:
        """Delete the verdict (a tombstone the connector's watch sees)."""
        await self._kv.delete(verdict_key(connection_id))
