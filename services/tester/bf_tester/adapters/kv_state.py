"""The tester's state in the NATS KV bucket ``bf_tester`` (layout: :mod:`bf_tester.domain.model`).

Writes that race with another replica use the KV revision (compare-and-set), so two
replicas never both believe they replaced the same retry or claimed the same connection.
Markers that only need to live for a while (done tests, deleted connections) are written
with a per-key TTL, so the bucket does not grow forever.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import TypeVar

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import BaseModel

from bf_tester.domain.model import CurrentTest, PendingRetry, RunOutcome
from bf_tester.domain.schedule import RetestEntry

M = TypeVar("M", bound=BaseModel)

_SAFE = re.compile(r"[A-Za-z0-9_=-]{1,200}")
_CAS_TRIES = 5


def key(prefix: str, ident: str) -> str:
    """``<prefix>.<ident>``; an ident that is not a safe KV token is replaced by its hash."""
    if not _SAFE.fullmatch(ident):
        ident = "h" + hashlib.sha256(ident.encode()).hexdigest()[:40]
    return f"{prefix}.{ident}"


async def read(kv: KeyValue, k: str, model: type[M]) -> tuple[M, int] | None:
    """The value at ``k`` and its revision, or None when absent or deleted."""
    try:
        entry = await kv.get(k)
    except KeyNotFoundError:
        return None
    if not entry.value:
        return None
    return model.model_validate_json(entry.value), entry.revision or 0


async def write(kv: KeyValue, k: str, value: BaseModel, revision: int | None) -> bool:
    """Store ``value`` if ``k`` is still at ``revision`` (None: only if absent)."""
    data = value.model_dump_json().encode()
    try:
        if revision is None:
            await kv.create(k, data)
        else:
            await kv.update(k, data, last=revision)
    except KeyWrongLastSequenceError:
        return False
    return True


async def snapshot(kv: KeyValue, pattern: str, model: type[M]) -> list[M]:
    """Every current value whose key matches ``pattern`` (e.g. ``retry.*``)."""
    watcher = await kv.watch(pattern, ignore_deletes=True)
    out: list[M] = []
    try:
        while True:
            entry = await watcher.updates(timeout=5.0)  # type: ignore[no-untyped-call]
            if entry is None:
                break
            if entry.value:
                out.append(model.model_validate_json(entry.value))
    finally:
        await watcher.stop()  # type: ignore[no-untyped-call]
    return out


class KvRetryScheduler:
    """:class:`bf_tester.ports.RetryScheduler` on ``retry.<connection_id>`` keys."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def pending(self, connection_id: str) -> PendingRetry | None:
        """The pending retry of the connection, if any."""
        found = await read(self._kv, key("retry", connection_id), PendingRetry)
        return found[0] if found else None

    async def schedule(self, retry: PendingRetry, *, replacing: str | None = None) -> bool:
        """Store ``retry`` (conditionally when ``replacing`` is given)."""
        k = key("retry", retry.connection_id)
        if replacing is None:
            await self._kv.put(k, retry.model_dump_json().encode())
            return True
        for _ in range(_CAS_TRIES):
            found = await read(self._kv, k, PendingRetry)
            if found is None or found[0].run_id != replacing:
                return False
            if await write(self._kv, k, retry, found[1]):
                return True
        return False

    async def cancel(self, connection_id: str, *, only: str | None = None) -> None:
        """Delete the pending retry (when ``only``: if it still is that run)."""
        k = key("retry", connection_id)
        found = await read(self._kv, k, PendingRetry)
        if found is None:
            return
        if only is not None and found[0].run_id != only:
            return
        try:
            await self._kv.delete(k, last=found[1] if only is not None else None)
        except KeyWrongLastSequenceError:
            pass  # replaced meanwhile by a newer retry: keep it

    async def due(self, now: datetime, republish_after_s: float) -> list[PendingRetry]:
        """Retries to publish now."""
        pending = await snapshot(self._kv, "retry.*", PendingRetry)
        return sorted((r for r in pending if r.is_due(now, republish_after_s)), key=lambda r: r.due_at)

    async def mark_published(self, retry: PendingRetry, at: datetime) -> None:
        """Record the publication, unless the retry was replaced or cancelled meanwhile."""
        k = key("retry", retry.connection_id)
        found = await read(self._kv, k, PendingRetry)
        if found is None or found[0].run_id != retry.run_id:
            return
        await write(self._kv, k, found[0].model_copy(update={"published_at": at}), found[1])


class KvRunLedger:
    """:class:`bf_tester.ports.RunLedger` on ``done.*``, ``outcome.*``, ``deleted.*`` and ``current.*`` keys."""

    def __init__(self, kv: KeyValue, *, marker_ttl_s: float) -> None:
        self._kv = kv
        self._ttl = marker_ttl_s

    async def _exists(self, k: str) -> bool:
        try:
            await self._kv.get(k)
        except KeyNotFoundError:
            return False
        return True

    async def _mark(self, k: str) -> None:
        try:
            await self._kv.create(k, b"1", msg_ttl=self._ttl)
        except KeyWrongLastSequenceError:
            pass  # already marked

    async def is_done(self, run_id: str) -> bool:
        """True when the run was fully handled."""
        return await self._exists(key("done", run_id))

    async def mark_done(self, run_id: str) -> None:
        """Remember the run as handled (for ``marker_ttl_s``)."""
        await self._mark(key("done", run_id))

    async def outcome(self, run_id: str) -> RunOutcome | None:
        """The run's saved outcome, if it got that far."""
        found = await read(self._kv, key("outcome", run_id), RunOutcome)
        return found[0] if found else None

    async def save_outcome(self, run_id: str, outcome: RunOutcome) -> None:
        """Save the run's outcome (first write wins: a redelivery finishes the same one)."""
        try:
            await self._kv.create(key("outcome", run_id), outcome.model_dump_json().encode(), msg_ttl=self._ttl)
        except KeyWrongLastSequenceError:
            pass

    async def is_deleted(self, connection_id: str) -> bool:
        """True when the connection was deleted."""
        return await self._exists(key("deleted", connection_id))

    async def mark_deleted(self, connection_id: str) -> None:
        """Remember the deletion (for ``marker_ttl_s``, longer than any command lives)."""
        await self._mark(key("deleted", connection_id))

    async def current(self, connection_id: str) -> CurrentTest | None:
        """The connection's newest test."""
        found = await read(self._kv, key("current", connection_id), CurrentTest)
        return found[0] if found else None

    async def claim(self, current: CurrentTest) -> bool:
        """Compare-and-set the connection's newest test (an older command loses)."""
        k = key("current", current.command.connection_id)
        for _ in range(_CAS_TRIES):
            found = await read(self._kv, k, CurrentTest)
            if found is not None:
                held, revision = found
                if held.run_id != current.run_id and held.is_newer_than_me(current.sequence):
                    return False
                if await write(self._kv, k, current, revision):
                    return True
            elif await write(self._kv, k, current, None):
                return True
        return False

    async def forget(self, connection_id: str) -> None:
        """Drop the connection's newest-test record."""
        await self._kv.delete(key("current", connection_id))


class KvRetestIndex:
    """:class:`bf_tester.ports.RetestIndex` on ``retest.<connection_id>`` keys."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def get(self, connection_id: str) -> RetestEntry | None:
        """The entry, if the connection is indexed."""
        found = await read(self._kv, key("retest", connection_id), RetestEntry)
        return found[0] if found else None

    async def put(self, entry: RetestEntry) -> None:
        """Insert or replace the entry."""
        await self._kv.put(key("retest", entry.connection_id), entry.model_dump_json().encode())

    async def remove(self, connection_id: str) -> None:
        """Drop the entry (no-op when absent)."""
        await self._kv.delete(key("retest", connection_id))

    async def all(self) -> list[RetestEntry]:
        """Every indexed connection."""
        return await snapshot(self._kv, "retest.*", RetestEntry)
