"""Reading one user's records from the ``BF_AUDIT`` stream, newest first, page by page.

A page is read with a short-lived ordered consumer filtered on ``bf.audit.<user_id>.>``
(the server does the filtering). JetStream reads forward only, so a page keeps the last
``limit`` records below the cursor while streaming the user's records: O(user's records)
per page, fine for an audit trail; a per-user index in KV is the next step if trails grow
to many thousands. The cursor is the stream sequence of the oldest record returned.
"""

from __future__ import annotations

import abc
import collections
from dataclasses import dataclass

import nats.errors
import nats.js.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext

from bf_shared.audit import AuditRecord, user_audit_filter
from bf_shared.subjects import AUDIT_STREAM


@dataclass(frozen=True)
class AuditPage:
    """Records newest first, and the cursor for the next (older) page, if any."""

    records: list[tuple[int, AuditRecord]]
    next_before: int | None


class AuditReader(abc.ABC):
    """A user's audit records."""

    @abc.abstractmethod
    async def page(self, user_id: str, limit: int, before: int | None) -> AuditPage:
        """Up to ``limit`` records with sequence < ``before`` (all when None), newest first."""


def paginate(stream: list[tuple[int, AuditRecord]], limit: int, before: int | None) -> AuditPage:
    """The page of ``stream`` (ascending sequences) — shared by the real and the fake reader."""
    window: collections.deque[tuple[int, AuditRecord]] = collections.deque(maxlen=limit + 1)
    seen: set[str] = set()
    for seq, record in stream:
        if before is not None and seq >= before:
            break
        if record.record_id in seen:  # a projection repeated after the duplicate window
            continue
        seen.add(record.record_id)
        window.append((seq, record))
    items = list(window)
    more = len(items) > limit
    items = items[-limit:]
    items.reverse()
    return AuditPage(records=items, next_before=items[-1][0] if more and items else None)


class JetStreamAuditReader(AuditReader):
    """Reads ``BF_AUDIT`` through an ephemeral, server-filtered pull consumer."""

    def __init__(self, js: JetStreamContext, batch: int = 256) -> None:
        self._js = js
        self._batch = batch

    async def page(self, user_id: str, limit: int, before: int | None) -> AuditPage:
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.ALL,
            inactive_threshold=30.0,
            mem_storage=True,
        )
        sub = await self._js.pull_subscribe(user_audit_filter(user_id), stream=AUDIT_STREAM, config=config)
        records: list[tuple[int, AuditRecord]] = []
        try:
            info = await sub.consumer_info()
            pending = info.num_pending or 0
            while pending > 0:
                try:
                    msgs = await sub.fetch(batch=min(self._batch, pending), timeout=2.0)
                except nats.errors.TimeoutError:
                    break
                for msg in msgs:
                    seq = msg.metadata.sequence.stream
                    pending = msg.metadata.num_pending or 0
                    if before is not None and seq >= before:
                        pending = 0
                        break
                    records.append((seq, AuditRecord.model_validate_json(msg.data)))
        finally:
            try:
                await sub.unsubscribe()
            except (nats.errors.Error, nats.js.errors.Error):
                pass
        return paginate(records, limit, before)


class MemoryAuditReader(AuditReader):
    """Records in a list (ascending sequence), for tests."""

    def __init__(self) -> None:
        self.records: list[tuple[int, AuditRecord]] = []

    def add(self, record: AuditRecord) -> int:
        seq = len(self.records) + 1
        self.records.append((seq, record))
        return seq

    async def page(self, user_id: str, limit: int, before: int | None) -> AuditPage:
        mine = [(s, r) for s, r in self.records if r.user_id == user_id]
        return paginate(mine, limit, before)
